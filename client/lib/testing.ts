/**
 * Test helper (not part of the public API): wait for a client event that satisfies a predicate,
 * bounded by a generous timeout so a broken server fails the test instead of hanging it.
 */
import type { BuzzClient } from "./buzz-client.ts";
import type { BuzzClientEvents } from "./client-types.ts";

export function nextEvent<K extends keyof BuzzClientEvents>(
  client: BuzzClient,
  event: K,
  pred: (p: BuzzClientEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<BuzzClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a matching "${String(event)}" event`));
    }, timeoutMs);
    const off = client.on(event, (p) => {
      if (!pred(p)) return;
      clearTimeout(timer);
      off();
      resolve(p);
    });
  });
}

/** Resolves when `cond()` holds, checking on every event of the client; rejects after `timeoutMs`. */
export function until(client: BuzzClient, cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (cond()) return Promise.resolve();
  const events: (keyof BuzzClientEvents)[] = ["state", "welcome", "show", "stage", "totals", "ack", "buzz", "error"];
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const done = (err?: Error) => {
      clearTimeout(timer);
      offs.forEach((f) => f());
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    for (const e of events) offs.push(client.on(e, () => cond() && done()));
  });
}

/**
 * A free loopback port, for a server that a test will restart on the same port. (A server first
 * started with PORT=0 could not re-bind its port after a drain here: bind() failed with EADDRINUSE
 * while the old connections sat in TIME_WAIT, though uWS sets SO_REUSEADDR and SO_REUSEPORT; a
 * port chosen up front re-binds fine.)
 */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
