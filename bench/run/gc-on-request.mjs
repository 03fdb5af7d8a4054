/**
 * Preloaded (--import) into server processes the bench starts, together with --expose-gc: a line
 * written to the pipe on fd BENCH_GC_FD runs a full garbage collection in the main thread and in
 * every worker thread (a server with WORKERS > 1 holds its connections in worker threads, each
 * with its own heap; the main thread relays over a BroadcastChannel). A pipe, not a signal: the
 * server uses SIGUSR2 itself (crash a worker on purpose), and an unknown signal would kill a
 * server started without this hook.
 * Why: the connections scenario measures server memory per connection as an RSS difference of
 * about 1 KB per connection; without a GC before each reading, garbage collected in between makes
 * the difference meaningless. Plain JavaScript so it loads in threads before any TypeScript loader.
 * Nothing else changes in the server.
 */
import net from "node:net";
import { BroadcastChannel, isMainThread } from "node:worker_threads";

const gc = globalThis.gc;
const fd = Number(process.env.BENCH_GC_FD);
if (typeof gc === "function" && Number.isInteger(fd) && fd > 2) {
  const channel = new BroadcastChannel("bench-gc-on-request");
  channel.unref();
  if (isMainThread) {
    const pipe = new net.Socket({ fd, readable: true, writable: false });
    pipe.unref();
    pipe.on("error", () => pipe.destroy());
    pipe.on("data", () => {
      gc();
      channel.postMessage("gc");
    });
  } else {
    channel.onmessage = () => gc();
  }
}
