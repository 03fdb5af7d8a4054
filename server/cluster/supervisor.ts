/**
 * The main thread of a multi-core node (WORKERS > 1): it runs no App itself. It starts the worker
 * threads on one port (SO_REUSEPORT spreads connections over them), restarts a worker that dies,
 * answers their requests (node-wide metrics and readiness; in embedded mode the show relay and the
 * counter-slot table), and on SIGTERM drains every worker before exiting.
 */
import { createServer } from "node:net";
import { Worker } from "node:worker_threads";
import type { Config } from "../config.ts";
import type { Logger } from "../ops/logger.ts";
import { mergeSnapshots, renderPrometheus, type Family, type MetricsSnapshot } from "../ops/metrics.ts";
import type { ShowRecord } from "../record/record.ts";
import { SLOT_BYTES, SlotAllocator } from "../store/atomic-store.ts";
import type { ToSupervisor, ToWorker, WorkerData } from "./messages.ts";

const SLOTS = 65_536;
const ENTRY = new URL("./worker-entry.mjs", import.meta.url);

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  health: { ready: boolean; checks: Record<string, string> };
  restarts: number;
  startedAt: number;
}

export async function runSupervisor(cfg: Config, adminToken: string, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  const embedded = !cfg.MEMCACHED_SERVERS && !cfg.MYSQL_URL;
  const port = cfg.PORT === 0 ? await freePort(cfg.HOST) : cfg.PORT;
  const counters = embedded ? new SharedArrayBuffer(SLOTS * SLOT_BYTES) : null;
  const allocator = new SlotAllocator(SLOTS);
  const shows = new Map<string, ShowRecord>();
  const slots: Slot[] = Array.from({ length: cfg.WORKERS }, (_, index) => ({ index, worker: null, ready: false, health: { ready: false, checks: {} }, restarts: 0, startedAt: 0 }));
  let draining = false;
  let nextId = 1;
  const snapshotWaits = new Map<number, (s: MetricsSnapshot) => void>();

  const send = (s: Slot, m: ToWorker): void => s.worker?.postMessage(m);
  const broadcast = (m: ToWorker): void => slots.forEach((s) => send(s, m));

  const nodeMetrics = async (): Promise<string> => {
    const live = slots.filter((s) => s.worker && s.ready);
    const snaps = await Promise.all(live.map((s) => new Promise<MetricsSnapshot>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => { snapshotWaits.delete(id); resolve([]); }, 1000);
      snapshotWaits.set(id, (snap) => { clearTimeout(timer); resolve(snap); });
      send(s, { type: "metrics-snapshot-request", id });
    })));
    const own: Family[] = [
      { name: "buzzcast_workers", help: "Worker threads configured.", kind: "gauge", merge: "max", samples: [{ value: cfg.WORKERS }] },
      { name: "buzzcast_workers_ready", help: "Worker threads running and ready.", kind: "gauge", merge: "max", samples: [{ value: slots.filter((s) => s.ready && s.health.ready).length }] },
      { name: "buzzcast_worker_restarts_total", help: "Worker threads restarted after dying.", kind: "counter", samples: [{ value: slots.reduce((n, s) => n + s.restarts, 0) }] },
    ];
    return renderPrometheus(mergeSnapshots([...snaps, own]));
  };

  const onMessage = (s: Slot, m: ToSupervisor): void => {
    switch (m.type) {
      case "ready": s.ready = true; s.health = { ready: true, checks: {} }; return;
      case "health": s.health = { ready: m.ready, checks: m.checks }; return;
      case "metrics-snapshot": snapshotWaits.get(m.id)?.(m.snapshot); snapshotWaits.delete(m.id); return;
      case "metrics-request":
        void nodeMetrics().then((text) => send(s, { type: "metrics-text", id: m.id, text }));
        return;
      case "show-save": {
        const have = shows.get(m.rec.show.id);
        if (!have || have.version < m.rec.version) {
          shows.set(m.rec.show.id, m.rec);
          broadcast({ type: "show", rec: m.rec });
        }
        send(s, { type: "show-saved", id: m.id });
        return;
      }
      case "show-load-all": send(s, { type: "show-all", id: m.id, recs: [...shows.values()] }); return;
      case "slot-request":
        try {
          send(s, { type: "slot", id: m.id, slot: allocator.slotFor(m.key) });
        } catch (err) {
          send(s, { type: "slot", id: m.id, slot: -1, error: err instanceof Error ? err.message : String(err) });
        }
        return;
      case "drained": return;
    }
  };

  const start = (s: Slot): Promise<void> => new Promise((resolve, reject) => {
    const workerEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) workerEnv[k] = v;
    workerEnv.PORT = String(port);
    if (!embedded) workerEnv.NODE_ID = `${cfg.NODE_ID}-w${s.index}`;
    const data: WorkerData = { index: s.index, adminToken, env: workerEnv, counters };
    const w = new Worker(ENTRY, { workerData: data });
    s.worker = w;
    s.ready = false;
    s.startedAt = Date.now();
    w.on("message", (m: ToSupervisor) => {
      onMessage(s, m);
      if (m.type === "ready") resolve();
    });
    w.on("error", (err) => log.error("worker error", { worker: s.index, err }));
    w.on("exit", (code) => {
      s.worker = null;
      s.ready = false;
      if (draining) return;
      reject(new Error(`worker ${s.index} exited with ${code} while starting`));
      const backoff = Math.min(5000, 100 * 2 ** Math.min(s.restarts, 6));
      s.restarts++;
      log.error("worker died; restarting", { worker: s.index, code, inMs: backoff, restarts: s.restarts });
      setTimeout(() => { if (!draining) start(s).catch((err: unknown) => log.error("worker restart failed", { worker: s.index, err })); }, backoff);
    });
  });

  // Worker 0 first (it creates the demo show and migrates the record), then the others together.
  await start(slots[0]!);
  await Promise.all(slots.slice(1).map((s) => start(s)));

  const healthTimer = setInterval(() => {
    const down = slots.filter((s) => !s.ready || !s.health.ready);
    const checks: Record<string, string> = { workers: down.length === 0 ? "ok" : `${down.length} of ${slots.length} not ready` };
    for (const s of slots) for (const [k, v] of Object.entries(s.health.checks)) if (v !== "ok" && k !== "node") checks[k] = v;
    broadcast({ type: "node-health", ready: down.length === 0, checks });
  }, 500);

  const host = cfg.HOST === "0.0.0.0" ? "127.0.0.1" : cfg.HOST;
  log.info("listening", { port, url: `http://${host}:${port}`, workers: cfg.WORKERS, policy: cfg.BUZZ_POLICY, tickMs: cfg.TICK_MS });
  if (!cfg.ADMIN_TOKEN) log.info("generated admin token (set ADMIN_TOKEN to choose one)", { adminToken });

  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    clearInterval(healthTimer);
    log.info("draining", { signal, workers: slots.length });
    const hard = setTimeout(() => { log.error("drain timed out; exiting", { timeoutMs: cfg.DRAIN_TIMEOUT_MS }); process.exit(1); }, cfg.DRAIN_TIMEOUT_MS);
    hard.unref();
    const exits = slots.map((s) => (s.worker ? new Promise<number>((r) => s.worker!.once("exit", r)) : Promise.resolve(0)));
    broadcast({ type: "drain" });
    void Promise.all(exits).then((codes) => {
      const ok = codes.every((c) => c === 0);
      log.info("stopped", { workerExitCodes: codes });
      process.exit(ok ? 0 : 1);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Chaos hook for operators and tests: make worker 0 fail as an uncaught error would.
  process.on("SIGUSR2", () => {
    log.warn("SIGUSR2: crashing worker 0 on purpose");
    send(slots[0]!, { type: "crash" });
  });
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
