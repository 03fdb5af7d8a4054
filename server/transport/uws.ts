/**
 * The one place that imports uWebSockets.js. The republish we depend on silently falls back to an
 * incomplete `ws`-based JS shim when its native binary does not load; we refuse to run on it.
 * Only the API common with upstream uWebSockets.js v20.5x is used, so the alias in package.json can
 * point at upstream or another build.
 */
import uWS from "uWebSockets.js";

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

export { uWS };
export type { TemplatedApp, WebSocket, HttpResponse, HttpRequest, us_listen_socket, us_socket_context_t } from "uWebSockets.js";
