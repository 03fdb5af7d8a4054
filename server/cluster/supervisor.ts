/**
 * The main thread of a multi-core node (WORKERS > 1): it runs no App itself. It starts the worker
 * threads on one port (SO_REUSEPORT spreads connections over them), restarts a worker that dies,
 * answers their requests (node-wide metrics and readiness; in embedded mode the show relay and the
 * counter-slot table), and on SIGTERM drains every worker before exiting (ops/lifecycle.ts).
 */
import { createServer } from "node:net";
import { Worker } from "node:worker_threads";
import type { Config } from "../config.ts";
import type { Logger } from "../ops/logger.ts";
import { renderPrometheus, type Family, type MetricsSnapshot } from "../ops/metrics.ts";
import type { ShowRecord } from "../record/record.ts";
import { casVerdict } from "../shows/show-source.ts";
import { EXIT_FAILED, EXIT_OK, type Lifecycle } from "../ops/lifecycle.ts";
import { SLOT_BYTES } from "../store/atomic-store.ts";
import { backendMode } from "../store/choose-backends.ts";
import { ClaimBook } from "../store/claim-book.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { serveCacheOp } from "./thread-cache.ts";
import { FlushTally } from "./flush-relay.ts";
import { AudienceBook } from "../store/audience-book.ts";
import { SlotTable } from "../store/slot-table.ts";
import { startAgentCheck } from "../transport/agent-check.ts";
import { GATE_OPEN, GATE_TERMINATED, type ToSupervisor, type ToWorker, type WorkerData } from "./messages.ts";

const SLOTS = 65_536;
const ENTRY = new URL("./worker-entry.mjs", import.meta.url);

interface Slot {
  index: number;
  worker: Worker | null;
  /** Holder id in the slot table of the current thread (a restarted worker gets a new one). */
  holder: number;
  ready: boolean;
  health: { ready: boolean; checks: Record<string, string> };
  restarts: number;
  /** Deaths in a row, each before the worker had been ready for STABLE_MS (sets the backoff). */
  quickDeaths: number;
  readyAt: number;
  /** The current thread's start gate (messages.ts). */
  gate: Int32Array;
}

/** The node cache's LRU bound (MySQL without memcached): claim keys must not be evicted. */
const NODE_CACHE_ENTRIES = 5_000_000;

/** A worker that stayed ready this long before it died restarts at once; faster deaths back off. */
const STABLE_MS = 1000;

export async function runSupervisor(
  cfg: Config,
  adminToken: string,
  log: Logger,
  env: NodeJS.ProcessEnv,
  lifecycle: Lifecycle,
): Promise<void> {
  const embedded = backendMode(cfg) === "embedded";
  const port = cfg.PORT === 0 ? await freePort(cfg.HOST) : cfg.PORT;
  const counters = embedded ? new SharedArrayBuffer(SLOTS * SLOT_BYTES) : null;
  const shows = new Map<string, ShowRecord>();
  const table = counters ? new SlotTable(new BigInt64Array(counters), (show, epoch) => shows.get(show)?.epoch === epoch) : null;
  const claimBook = counters ? new ClaimBook((show, epoch) => shows.get(show)?.epoch === epoch) : null;
  const audience = counters ? new AudienceBook() : null;
  // MySQL without memcached: the node's one cache, shared by every worker (thread-cache.ts).
  const nodeCache = !embedded && cfg.MEMCACHED_SERVERS === undefined ? new MemoryCache({ maxEntries: NODE_CACHE_ENTRIES }) : null;
  const slots: Slot[] = Array.from({ length: cfg.WORKERS }, (_, index) => ({
    index,
    worker: null,
    holder: 0,
    ready: false,
    health: { ready: false, checks: {} },
    restarts: 0,
    quickDeaths: 0,
    readyAt: 0,
    gate: new Int32Array(1),
  }));
  let draining = false;
  let nextId = 1;
  let nextHolder = 1;
  let unexpected = 0;
  const snapshotWaits = new Map<number, (s: MetricsSnapshot) => void>();

  const send = (s: Slot, m: ToWorker): void => s.worker?.postMessage(m);
  const broadcast = (m: ToWorker): void => slots.forEach((s) => send(s, m));
  // Embedded mode: phase 2 starts on every worker once every ready worker flushed the tick.
  const flushTally = embedded
    ? new FlushTally(
        () => slots.filter((s) => s.worker && s.ready).map((s) => s.holder),
        (tick) => broadcast({ type: "all-flushed", tick }),
      )
    : null;
  // Chaos hook for operators and tests: make worker 0 fail as an uncaught error would. Installed
  // before any thread exists (the signal's default action would end the process).
  process.on("SIGUSR2", () => {
    log.warn("SIGUSR2: crashing worker 0 on purpose");
    send(slots[0]!, { type: "crash" });
  });

  const nodeMetrics = async (): Promise<string> => {
    const live = slots.filter((s) => s.worker && s.ready);
    const snaps = await Promise.all(
      live.map(
        (s) =>
          new Promise<MetricsSnapshot>((resolve) => {
            const id = nextId++;
            const timer = setTimeout(() => {
              snapshotWaits.delete(id);
              resolve([]);
            }, 1000);
            snapshotWaits.set(id, (snap) => {
              clearTimeout(timer);
              resolve(snap);
            });
            send(s, { type: "metrics-snapshot-request", id });
          }),
      ),
    );
    const own: Family[] = [
      { name: "buzzcast_workers", help: "Worker threads configured.", kind: "gauge", merge: "max", samples: [{ value: cfg.WORKERS }] },
      {
        name: "buzzcast_workers_ready",
        help: "Worker threads running and ready.",
        kind: "gauge",
        merge: "max",
        samples: [{ value: slots.filter((s) => s.ready && s.health.ready).length }],
      },
      {
        name: "buzzcast_worker_restarts_total",
        help: "Worker threads restarted after dying.",
        kind: "counter",
        samples: [{ value: slots.reduce((n, s) => n + s.restarts, 0) }],
      },
      {
        name: "buzzcast_supervisor_unexpected_messages_total",
        help: "Worker messages the supervisor did not expect (logged).",
        kind: "counter",
        samples: [{ value: unexpected }],
      },
    ];
    if (table) {
      own.push(
        {
          name: "buzzcast_slot_table_used",
          help: "Counter slots held for live show/epoch/act keys.",
          kind: "gauge",
          merge: "max",
          samples: [{ value: table.used }],
        },
        {
          name: "buzzcast_slot_table_capacity",
          help: "Counter slots in the node's shared table.",
          kind: "gauge",
          merge: "max",
          samples: [{ value: SLOTS }],
        },
        {
          name: "buzzcast_slot_table_freed_total",
          help: "Counter slots freed after every holder released them.",
          kind: "counter",
          samples: [{ value: table.stats.freed }],
        },
        {
          name: "buzzcast_slot_table_full_total",
          help: "Slot requests refused because the table was full (deltas retained by the worker).",
          kind: "counter",
          samples: [{ value: table.stats.full }],
        },
      );
    }
    return renderPrometheus(...snaps, own);
  };

  const onMessage = (s: Slot, m: ToSupervisor): void => {
    switch (m.type) {
      case "ready":
        s.ready = true;
        s.readyAt = Date.now();
        s.health = { ready: true, checks: {} };
        return;
      case "health":
        s.health = { ready: m.ready, checks: m.checks };
        return;
      case "metrics-snapshot": {
        const wait = snapshotWaits.get(m.id);
        if (!wait) return noteUnexpected(s, m.type, "late or unknown metrics snapshot");
        wait(m.snapshot);
        snapshotWaits.delete(m.id);
        return;
      }
      case "metrics-request":
        void nodeMetrics().then((text) => send(s, { type: "metrics-text", id: m.id, text }));
        return;
      case "show-save": {
        // One message at a time: of two workers' changes from one version, the second finds the first's.
        const verdict = casVerdict(shows.get(m.rec.show.id) ?? null, m.rec, m.base);
        if (!verdict.ok) {
          send(s, { type: "show-saved", id: m.id, ok: false, ...(verdict.current ? { current: verdict.current } : {}) });
          return;
        }
        shows.set(m.rec.show.id, m.rec);
        table?.showChanged(m.rec.show.id, m.rec.epoch);
        claimBook?.showChanged(m.rec.show.id, m.rec.epoch);
        broadcast({ type: "show", rec: m.rec });
        send(s, { type: "show-saved", id: m.id, ok: true });
        return;
      }
      case "show-load-all":
        send(s, { type: "show-all", id: m.id, recs: [...shows.values()] });
        return;
      case "slot-request":
        if (!table) return noteUnexpected(s, m.type, "shared mode has no counter table");
        try {
          send(s, { type: "slot", id: m.id, slot: table.slotFor(s.holder, m.key) });
        } catch (err) {
          send(s, { type: "slot", id: m.id, slot: -1, error: err instanceof Error ? err.message : String(err) });
        }
        return;
      case "claim-request":
        if (!claimBook) return noteUnexpected(s, m.type, "shared mode has no claim book");
        send(s, { type: "claims", id: m.id, counted: claimBook.decide(s.holder, m.claims) });
        return;
      case "slot-release":
        if (!table) return noteUnexpected(s, m.type, "shared mode has no counter table");
        table.release(s.holder, m.keys);
        return;
      case "cache":
        if (!nodeCache) return noteUnexpected(s, m.type, "memcached is configured: no node cache");
        void serveCacheOp(nodeCache, m.req).then((reply) => send(s, { type: "cache-reply", id: m.id, reply }));
        return;
      case "flushed":
        if (!flushTally) return noteUnexpected(s, m.type, "shared mode counts flushes in memcached");
        flushTally.flushed(s.holder, m.tick);
        return;
      case "audience":
        if (!audience) return noteUnexpected(s, m.type, "shared mode sums the audience in memcached");
        if (audience.report(s.holder, m.counts)) broadcast({ type: "audience", sums: audience.sums() });
        return;
      default:
        return noteUnexpected(s, (m as { type?: unknown }).type, "unknown message type");
    }
  };

  function noteUnexpected(s: Slot, type: unknown, why: string): void {
    unexpected++;
    log.error("unexpected message from a worker", { worker: s.index, type, why });
  }

  // A worker is started only while the node is not draining; its promise settles when it is ready,
  // or when it exits first (resolved during a drain, rejected otherwise).
  const start = (s: Slot): Promise<void> =>
    new Promise((resolve, reject) => {
      if (draining) return resolve();
      const workerEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v !== undefined) workerEnv[k] = v;
      workerEnv.PORT = String(port);
      if (!embedded) workerEnv.NODE_ID = `${cfg.NODE_ID}-w${s.index}`;
      const gate = new SharedArrayBuffer(4);
      const data: WorkerData = { index: s.index, adminToken, env: workerEnv, counters, gate, nodeCache: nodeCache !== null };
      const w = new Worker(ENTRY, { workerData: data });
      s.gate = new Int32Array(gate);
      const holder = nextHolder++;
      s.worker = w;
      s.holder = holder;
      s.ready = false;
      w.on("message", (m: ToSupervisor) => {
        if (s.holder !== holder) return; // a message of a thread already gone (its slots are dropped)
        onMessage(s, m);
        if (m.type === "ready") resolve();
      });
      w.on("error", (err) => log.error("worker error", { worker: s.index, err }));
      w.on("exit", (code) => {
        // Every add this thread made has landed and it makes no more: its slots may be freed.
        table?.dropHolder(holder);
        if (audience?.drop(holder)) broadcast({ type: "audience", sums: audience.sums() });
        const wasReadyFor = s.ready ? Date.now() - s.readyAt : 0;
        s.holder = 0;
        s.worker = null;
        s.ready = false;
        flushTally?.check(); // the tick in progress may have waited only for this worker
        if (draining) return resolve();
        reject(Object.assign(new Error(`worker ${s.index} exited with ${code} while starting`), { exitCode: code }));
        s.quickDeaths = wasReadyFor >= STABLE_MS ? 0 : s.quickDeaths + 1;
        const backoff = Math.min(5000, 100 * 2 ** Math.min(s.quickDeaths, 6));
        s.restarts++;
        log.error("worker died; restarting", { worker: s.index, code, inMs: backoff, restarts: s.restarts });
        setTimeout(() => {
          if (!draining) start(s).catch((err: unknown) => log.error("worker restart failed", { worker: s.index, err }));
        }, backoff);
      });
    });

  let healthTimer: NodeJS.Timeout | undefined = undefined;
  /** The exit code when a worker failed to start (its own code when it says why, e.g. 3: NODE_ID taken). */
  let startFailed: number | null = null;
  let agent: { close(): Promise<void> } | null = null;
  const exitOf = (w: Worker): Promise<number> => new Promise<number>((r) => w.once("exit", r));

  // The drain works at any moment, start-up included: a worker still starting drains as soon as
  // it is up, and no worker starts or restarts once the drain began. Exit 0 only if every thread
  // exited cleanly.
  lifecycle.ready({
    drainTimeoutMs: cfg.DRAIN_TIMEOUT_MS,
    log,
    drain: async () => {
      draining = true;
      clearInterval(healthTimer);
      await agent?.close();
      const running = slots.filter((s) => s.worker);
      log.info("draining workers", { workers: running.length });
      const codes = await Promise.all(
        running.map((s) => {
          const w = s.worker!;
          const exit = exitOf(w);
          // A thread still loading, with no App yet, is terminated (nothing of uWS to tear down;
          // its start-up may take seconds); one with an App drains.
          if (Atomics.compareExchange(s.gate, 0, GATE_OPEN, GATE_TERMINATED) === GATE_OPEN) {
            void w.terminate();
            return exit.then(() => 0);
          }
          send(s, { type: "drain" });
          return exit;
        }),
      );
      log.info("workers stopped", { workerExitCodes: codes });
      if (startFailed !== null) return startFailed;
      return codes.every((c) => c === 0) ? EXIT_OK : EXIT_FAILED;
    },
    // The drain timed out: make every thread drop its sockets and end, so that the exit that follows
    // does not tear a thread down while uWS holds a socket (that aborts the process).
    beforeHardExit: async () => {
      const left = slots.flatMap((s) => (s.worker ? [exitOf(s.worker)] : []));
      broadcast({ type: "abort" });
      await Promise.all(left);
    },
  });

  // Worker 0 first (it creates the demo show and migrates the record), then the others together.
  // A worker that dies before it is ready fails the start: the node drains what did start (an exit
  // under running threads could abort the process) and exits 1, or with the worker's own code when
  // it is more specific (3: NODE_ID taken).
  try {
    await start(slots[0]!);
    await Promise.all(slots.slice(1).map((s) => start(s)));
  } catch (err) {
    log.error("a worker failed to start; stopping the node", { err });
    const code = (err as { exitCode?: unknown }).exitCode;
    startFailed = typeof code === "number" && code > 1 ? code : EXIT_FAILED;
    lifecycle.stop("start-up failure");
    return;
  }
  if (draining) return;

  healthTimer = setInterval(() => {
    const down = slots.filter((s) => !s.ready || !s.health.ready);
    const checks: Record<string, string> = { workers: down.length === 0 ? "ok" : `${down.length} of ${slots.length} not ready` };
    for (const s of slots) for (const [k, v] of Object.entries(s.health.checks)) if (v !== "ok" && k !== "node") checks[k] = v;
    broadcast({ type: "node-health", ready: down.length === 0, checks });
  }, 500);

  // HAProxy's agent check: a lower weight while any worker sheds (its share of MAX_CONNECT_RATE spent).
  agent =
    cfg.AGENT_PORT === undefined
      ? null
      : await startAgentCheck(cfg.HOST, cfg.AGENT_PORT, () => slots.some((s) => s.health.checks.node === "shedding"), log);

  const host = cfg.HOST === "0.0.0.0" ? "127.0.0.1" : cfg.HOST;
  log.info("listening", { port, url: `http://${host}:${port}`, workers: cfg.WORKERS, policy: cfg.BUZZ_POLICY, tickMs: cfg.TICK_MS });
  if (!cfg.ADMIN_TOKEN) log.info("generated admin token (set ADMIN_TOKEN to choose one)", { adminToken });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const p = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(p));
    });
  });
}
