/**
 * One worker thread of a multi-core node: a full buzzcast App on the shared port (SO_REUSEPORT).
 * Embedded mode: counters in the node's SharedArrayBuffer, shows relayed by the supervisor.
 * Shared mode: its own memcached and MySQL clients, and its own rows in the record
 * (NODE_ID-w<index>), exactly like a separate node.
 *
 * A fatal error closes this worker's listen socket and connections (clients reconnect to the other
 * workers) and exits with code 1; the supervisor starts a new one. A drain asked for while the
 * node is still starting runs as soon as it is up.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { parseConfig } from "../config.ts";
import { startNode, type NodeHandle, type Readiness } from "../node/node.ts";
import { createLogger } from "../ops/logger.ts";
import { closeEveryApp, gateApps } from "../transport/uws.ts";
import type { Family } from "../ops/metrics.ts";
import type { SlotClient } from "../store/atomic-store.ts";
import { chooseBackends, type Backends } from "../store/choose-backends.ts";
import { AudienceRelay } from "../store/audience-book.ts";
import { GATE_APP, GATE_OPEN, GATE_TERMINATED, type ToSupervisor, type ToWorker, type WorkerData } from "./messages.ts";
import { ThreadCache } from "./thread-cache.ts";
import { RpcError, ThreadRpc } from "./thread-rpc.ts";
import { ThreadFlushQuorum } from "./flush-relay.ts";
import { ThreadShowSource } from "../shows/thread-show-source.ts";
import { NodeIdTaken } from "../record/node-lease.ts";
import { EXIT_NODE_ID_TAKEN } from "../ops/lifecycle.ts";

if (!parentPort) throw new Error("worker.ts must run in a worker thread");
const port: MessagePort = parentPort;
const data = workerData as WorkerData;
const cfg = parseConfig(data.env);
const log = createLogger(cfg.LOG_LEVEL, { node: cfg.NODE_ID, worker: data.index });
const post = (m: ToSupervisor): void => port.postMessage(m);
type Reply = Extract<ToWorker, { id: number }>;
const rpc = new ThreadRpc<Reply>(port);
// The start gate (messages.ts): this thread makes an App only if the supervisor has not decided to
// terminate it first; from then on it is drained, never terminated.
const gate = new Int32Array(data.gate);
gateApps(() => Atomics.compareExchange(gate, 0, GATE_OPEN, GATE_APP) !== GATE_TERMINATED);

/** A reply of the wrong type, or to no pending request (late after a timeout): logged and counted. */
let unexpectedReplies = 0;
function unexpected(what: string, got: { type: string }): RpcError {
  unexpectedReplies++;
  log.error("unexpected reply from the supervisor", { to: what, got: got.type });
  return new RpcError("unexpected_reply", `supervisor answered ${what} with ${got.type}`);
}

let node: NodeHandle | null = null;
let healthTimer: NodeJS.Timeout | undefined = undefined; // set once the node is up
let nodeHealth: Readiness = { ready: true, checks: {} };
let threadShows: ThreadShowSource | null = null;
const audience = new AudienceRelay((counts) => post({ type: "audience", counts }));
// Embedded mode: phase 2 starts when the supervisor says every worker flushed (flush-relay.ts).
const flushQuorum = data.counters ? new ThreadFlushQuorum((tick) => post({ type: "flushed", tick })) : null;

/**
 * Every way out of this thread ends the same: every App of the thread closed (no socket of uWS left
 * open, or libuv would abort the whole process when the thread's loop closes), timers stopped, the
 * port to the supervisor closed, and the thread ends by itself once its loop is empty. The backstop
 * exit below runs only after the Apps are closed, so it is safe too.
 */
let leaving = false;
function leave(code: number): void {
  if (leaving) return;
  leaving = true;
  closeEveryApp();
  clearInterval(healthTimer);
  process.exitCode = code;
  port.close();
  // Something else (a backend client's socket) may keep the loop alive: exit anyway, later.
  setTimeout(() => process.exit(code), 3000).unref();
}

process.on("uncaughtException", (err) => {
  log.error("worker failed; closing its connections", { err });
  // Connections are dropped at once (clients reconnect to the other workers); the tally's last
  // tick is lost. During start-up `node` is still null: closeEveryApp covers an App being started.
  try {
    node?.abort();
  } finally {
    leave(1);
  }
});

let drainRequested = false;
port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "metrics-snapshot-request":
      post({ type: "metrics-snapshot", id: m.id, snapshot: node ? node.metrics.exposition() : [] });
      return;
    case "show":
      threadShows?.receive(m.rec);
      return;
    case "node-health":
      nodeHealth = { ready: m.ready, checks: m.checks };
      return;
    case "audience":
      audience.receive(m.sums);
      return;
    case "all-flushed":
      if (flushQuorum) flushQuorum.allFlushed(m.tick);
      else unexpected("no flush report (shared mode)", m);
      return;
    case "drain":
      // Before the node is up the drain waits for the start-up to finish (see the end of this file).
      drainRequested = true;
      if (node) void drain(node);
      return;
    case "abort":
      // The supervisor's drain timed out: drop everything now so that the process can exit.
      node?.abort();
      leave(1);
      return;
    case "crash":
      // Chaos hook (supervisor SIGUSR2): behave exactly as an uncaught error would.
      setImmediate(() => {
        throw new Error("worker crash requested by the supervisor");
      });
      return;
    default:
      if (!rpc.settle(m)) unexpected("no pending request", m);
  }
});

let draining = false;
async function drain(n: NodeHandle): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    await n.drain();
    leave(0);
  } catch (err) {
    log.error("worker drain failed", { err });
    n.abort();
    leave(1);
  }
}

async function backends(): Promise<Backends> {
  if (!data.counters) {
    // Shared mode: a node of its own; without memcached, over the supervisor's one cache.
    const nodeCache = data.nodeCache
      ? new ThreadCache(async (req) => {
          const r = await rpc.call((id) => ({ type: "cache", id, req }));
          if (r.type !== "cache-reply") throw unexpected("cache", r);
          return r.reply;
        })
      : null;
    return chooseBackends(cfg, log, null, nodeCache);
  }
  threadShows = new ThreadShowSource({
    save: async (rec, base) => {
      const r = await rpc.call((id) => ({ type: "show-save", id, rec, base }));
      if (r.type !== "show-saved") throw unexpected("show-save", r);
      if (r.error) throw new RpcError("rejected", r.error);
      return r.ok ? { ok: true } : { ok: false, current: r.current ?? null };
    },
    loadAll: async () => {
      const r = await rpc.call((id) => ({ type: "show-load-all", id }));
      if (r.type !== "show-all") throw unexpected("show-load-all", r);
      return r.recs;
    },
  });
  const slots: SlotClient = {
    slotFor: async (key) => {
      const r = await rpc.call((id) => ({ type: "slot-request", id, key }));
      if (r.type !== "slot") throw unexpected("slot-request", r);
      if (r.error) throw new RpcError("rejected", r.error);
      return r.slot;
    },
    release: (keys) => post({ type: "slot-release", keys: [...keys] }),
    claim: async (claims) => {
      const r = await rpc.call((id) => ({ type: "claim-request", id, claims: [...claims] }));
      if (r.type !== "claims" || r.counted.length !== claims.length) throw unexpected("claim-request", r);
      return r.counted;
    },
    audience: (local) => audience.local(local),
  };
  return chooseBackends(cfg, log, { counters: data.counters, slots, shows: threadShows });
}

const chosen = await backends().catch((err: unknown) => {
  if (!(err instanceof NodeIdTaken)) throw err;
  // The thread's exit code tells the supervisor why (it exits the process with it).
  log.error("refusing to start: NODE_ID in use", { err: err.message });
  process.exit(EXIT_NODE_ID_TAKEN);
});
const rpcFamily = (): Family => ({
  name: "buzzcast_worker_rpc_unexpected_total",
  help: "Supervisor messages of a type the worker did not expect (logged).",
  kind: "counter",
  samples: [{ value: unexpectedReplies }],
});
node = await startNode(
  cfg,
  data.adminToken,
  log,
  { ...chosen, metrics: () => [...(chosen.metrics?.() ?? []), rpcFamily()] },
  {
    renderMetrics: async () => {
      const r = await rpc.call((id) => ({ type: "metrics-request", id }));
      if (r.type !== "metrics-text") throw unexpected("metrics-request", r);
      return r.text;
    },
    combineReadiness: (local) => ({
      ready: local.ready && nodeHealth.ready,
      checks: { ...nodeHealth.checks, ...local.checks, node: nodeHealth.ready ? (local.checks.node ?? "ok") : "a worker is not ready" },
    }),
    ...(flushQuorum ? { quorum: flushQuorum } : {}),
  },
);
if (leaving) {
  // A fatal error struck while the node was starting: the App is closed already.
  node.abort();
} else {
  healthTimer = setInterval(() => {
    if (node) post({ type: "health", ...node.readiness() });
  }, 500);
  healthTimer.unref();
  post({ type: "ready", port: node.port });
  if (drainRequested) void drain(node);
}
