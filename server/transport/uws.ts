/**
 * The one place that loads uWebSockets.js at run time (other server files import its types only;
 * the bench's bare-uWS baseline loads it on its own). The republish we depend on silently falls back to an
 * incomplete `ws`-based JS shim when its native binary does not load; we refuse to run on it.
 * Only the API common with upstream uWebSockets.js v20.5x is used, so the alias in package.json can
 * point at upstream or another build.
 */
import uWS, { type TemplatedApp } from "uWebSockets.js";

export class NativeUwsError extends Error {
  override readonly name = "NativeUwsError";
}

/** Throws NativeUwsError unless the native uWebSockets.js addon is loaded. */
export function assertNativeUws(): void {
  const native =
    typeof uWS.App === "function" &&
    typeof uWS.SSLApp === "function" &&
    typeof uWS.getParts === "function" &&
    typeof uWS.us_socket_local_port === "function";
  if (!native) {
    throw new NativeUwsError(
      `uWebSockets.js did not load its native addon for ${process.platform}-${process.arch} ` +
        `(Node ABI ${process.versions.modules}); refusing to run on its JS fallback. ` +
        `Use Node 16/18/20 on Linux x64/arm64 with glibc >= 2.27, or point the "uWebSockets.js" alias in package.json at a build for this platform.`,
    );
  }
}

/**
 * Every App this thread made, so that one call can drop every socket uWebSockets.js holds here. A
 * worker thread must not end while uWS holds a socket: Node closes the thread's libuv loop on exit
 * and aborts the whole process (SIGABRT, `uv_loop_close() while having open handles`) if any handle
 * is still open. `App.close()` closes the App's listen sockets and force-closes every connection
 * (WebSocket, HTTP keep-alive, half-upgraded); measured on this build: a thread that exits right
 * after it ends cleanly, every time.
 */
const apps = new Set<TemplatedApp>();
let closedForGood = false;

interface ClosableApp {
  close?: () => unknown;
}

let gate: () => boolean = () => true;

/** A check every App creation must pass first (a worker thread's start gate, cluster/messages.ts). */
export function gateApps(allowed: () => boolean): void {
  gate = allowed;
}

/** A new App of this thread; refused once `closeEveryApp` ran (the thread is on its way out) or the gate is shut. */
export function createApp(): TemplatedApp {
  if (closedForGood || !gate()) throw new NativeUwsError("uWebSockets.js was closed for good in this thread");
  const app = uWS.App();
  if (typeof (app as unknown as ClosableApp).close !== "function") {
    throw new NativeUwsError("this uWebSockets.js build has no App.close(): a worker could not drop its sockets before it exits");
  }
  apps.add(app);
  return app;
}

/** Close the App's listen sockets and every connection at once (their close handlers run, code 1006). */
export function closeApp(app: TemplatedApp): void {
  if (!apps.delete(app)) return;
  (app as unknown as Required<ClosableApp>).close();
}

/** Close every App of this thread and refuse new ones: nothing of uWS stays open after this. */
export function closeEveryApp(): void {
  closedForGood = true;
  for (const app of [...apps]) closeApp(app);
}

/** True once `closeEveryApp` ran: a start-up still under way must not listen any more. */
export function appsClosedForGood(): boolean {
  return closedForGood;
}

export { uWS };
export type { TemplatedApp, WebSocket, HttpResponse, HttpRequest, us_listen_socket, us_socket_context_t } from "uWebSockets.js";
