/**
 * One worker thread of a multi-core node: a full buzzcast App on the shared port (SO_REUSEPORT).
 * Embedded mode: counters in the node's SharedArrayBuffer, shows relayed by the supervisor.
 * Shared mode: its own memcached and MySQL clients, and its own rows in the record
 * (NODE_ID-w<index>), exactly like a separate node.
 *
 * A fatal error closes this worker's listen socket and connections (clients reconnect to the other
 * workers) and exits with code 1; the supervisor starts a new one.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { parseConfig } from "../config.ts";
import { startNode, type Backends, type NodeHandle, type Readiness } from "../node.ts";
import { createLogger } from "../ops/logger.ts";
import { AtomicStore } from "../store/atomic-store.ts";
import type { ToSupervisor, ToWorker, WorkerData } from "./messages.ts";
import { ThreadRpc } from "./thread-rpc.ts";
import { ThreadShowSource } from "../shows/thread-show-source.ts";

if (!parentPort) throw new Error("worker.ts must run in a worker thread");
const port: MessagePort = parentPort;
const data = workerData as WorkerData;
const cfg = parseConfig(data.env);
const log = createLogger(cfg.LOG_LEVEL, { node: cfg.NODE_ID, worker: data.index });
const post = (m: ToSupervisor): void => port.postMessage(m);
type Reply = Extract<ToWorker, { id: number }>;
const rpc = new ThreadRpc<Reply>(port);

let node: NodeHandle | null = null;
let healthTimer: NodeJS.Timeout | undefined;
let nodeHealth: Readiness = { ready: true, checks: {} };
let threadShows: ThreadShowSource | null = null;

process.on("uncaughtException", (err) => {
  log.error("worker failed; closing its connections", { err });
  // Close everything and let the thread end by itself: a thread that exits while uWS still holds a
  // socket takes the whole process down (libuv assertion). A last resort exit follows if something
  // keeps the thread alive.
  node?.abort();
  clearInterval(healthTimer);
  port.close();
  setTimeout(() => process.exit(1), 3000).unref();
});

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "metrics-snapshot-request":
      post({ type: "metrics-snapshot", id: m.id, snapshot: node ? node.metrics.snapshot() : [] });
      return;
    case "show":
      threadShows?.receive(m.rec);
      return;
    case "node-health":
      nodeHealth = { ready: m.ready, checks: m.checks };
      return;
    case "drain":
      void drain();
      return;
    case "crash":
      // Chaos hook (supervisor SIGUSR2): behave exactly as an uncaught error would.
      setImmediate(() => {
        throw new Error("worker crash requested by the supervisor");
      });
      return;
    default:
      rpc.settle(m);
  }
});

async function drain(): Promise<void> {
  try {
    await node?.drain();
    post({ type: "drained" });
    // Let the thread end on its own once uWS has released its last socket: exiting with process.exit
    // while uWS tears down its loop crashed the process here (SIGSEGV).
    clearInterval(healthTimer);
    port.close();
  } catch (err) {
    log.error("worker drain failed", { err });
    process.exit(1);
  }
}

async function backends(): Promise<Backends> {
  if (cfg.MEMCACHED_SERVERS || cfg.MYSQL_URL) {
    const { createSharedBackends } = await import("../store/choose-backends.ts");
    return createSharedBackends(cfg, log);
  }
  if (!data.counters) throw new Error("embedded worker started without a counter table");
  threadShows = new ThreadShowSource({
    save: async (rec) => {
      const r = await rpc.call((id) => ({ type: "show-save", id, rec }));
      if (r.type === "show-saved" && r.error) throw new Error(r.error);
    },
    loadAll: async () => {
      const r = await rpc.call((id) => ({ type: "show-load-all", id }));
      return r.type === "show-all" ? r.recs : [];
    },
  });
  const store = new AtomicStore(data.counters, async (key) => {
    const r = await rpc.call((id) => ({ type: "slot-request", id, key }));
    if (r.type !== "slot" || r.error) throw new Error(r.type === "slot" ? r.error : "bad slot reply");
    return r.slot;
  });
  return { store, showSource: threadShows, showPollMs: cfg.TICK_MS };
}

node = await startNode(cfg, data.adminToken, log, await backends(), {
  renderMetrics: async () => {
    const r = await rpc.call((id) => ({ type: "metrics-request", id }));
    return r.type === "metrics-text" ? r.text : "";
  },
  combineReadiness: (local) => ({
    ready: local.ready && nodeHealth.ready,
    checks: { ...nodeHealth.checks, ...local.checks, node: nodeHealth.ready ? local.checks.node ?? "ok" : "a worker is not ready" },
  }),
});
healthTimer = setInterval(() => {
  if (node) post({ type: "health", ...node.readiness() });
}, 500);
healthTimer.unref();
post({ type: "ready", port: node.port });
