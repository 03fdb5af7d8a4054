/**
 * Entry point of a generator worker process (forked by fleet.ts). Holds its share of connections
 * (each process may open at most 20,000 files here), drives load on command, and reports stats to
 * the runner every `statsIntervalMs` over IPC. Exits when told to close, or by itself if the runner
 * goes away (IPC disconnect): a generator never outlives its run.
 */
import { encodeHistogram } from "../stats/histogram.ts";
import { Audience } from "./audience.ts";
import type { RunnerToWorker, WorkerPlan, WorkerStats, WorkerToRunner } from "./ipc.ts";
import { LoadDriver } from "./load-driver.ts";
import { VisibilityTracker } from "./visibility.ts";

/** Observers per worker whose totals feed buzz -> visible latency (each costs per-buzz work). */
const MAX_OBSERVERS = 100;

let plan: WorkerPlan | null = null;
let audience: Audience | null = null;
let driver: LoadDriver | null = null;
let statsTimer: NodeJS.Timeout | null = null;
let lastStatsAt = Date.now();
/** `load` messages handled (reported in stats: the runner tells which stats follow a stop). */
let loadsApplied = 0;

function send(msg: WorkerToRunner, then?: () => void): void {
  if (!process.connected) return then?.();
  process.send!(msg, undefined, {}, () => then?.());
}

function takeStats(a: Audience, d: LoadDriver, p: WorkerPlan): WorkerStats {
  const t = Date.now();
  const cpu = process.cpuUsage();
  a.accrue();
  const stats: WorkerStats = {
    worker: p.worker,
    t,
    intervalMs: t - lastStatsAt,
    connecting: a.connecting,
    ready: a.readyCount,
    observers: a.observerCount,
    observerMs: a.observerMs,
    opened: a.opened,
    failed: a.failed,
    droppedAfterReady: a.droppedAfterReady,
    reasons: { ...a.reasons },
    buzzesSent: d.sent,
    ackCounted: a.ackCounted,
    ackRejected: a.ackRejected,
    totalsFrames: a.totalsFrames,
    totalsWireBytes: a.totalsWireBytes,
    rxBytes: a.rxBytes(),
    readyMs: a.readyMs,
    observerFrames: a.observerFrames,
    framesMissed: a.framesMissed,
    seqRegressions: a.seqRegressions,
    tcpMemPauses: d.tcpMemPauses,
    loadsApplied,
    sndbufCapped: a.sndbufCapped,
    lastTotals: a.lastTotals,
    tickGapMaxMs: Math.round(a.tickGapMaxMs * 1000) / 1000,
    latencyHist: encodeHistogram(a.latencyHist),
    visibleHist: encodeHistogram(a.visibleHist),
    connectHist: encodeHistogram(a.connectHist),
    frameReceipts: a.receipts.take(),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: process.memoryUsage.rss(),
  };
  lastStatsAt = t;
  a.latencyHist.reset();
  a.visibleHist.reset();
  a.connectHist.reset();
  a.tickGapMaxMs = 0;
  return stats;
}

function fatal(message: string): void {
  send({ type: "fatal", message }, () => process.exit(1));
}

async function handle(msg: RunnerToWorker): Promise<void> {
  switch (msg.type) {
    case "plan": {
      plan = msg.plan;
      const a = new Audience(plan);
      audience = a;
      driver = new LoadDriver(
        () => a.readyConnections(),
        plan.tcpMemBudgetBytes,
        () => a.tracker,
        (c, on) => a.setSending(c, on),
        plan.protocol === "v2" ? (act) => a.v2ActIndex(act) : null,
      );
      const p = plan;
      const d = driver;
      statsTimer = setInterval(() => send({ type: "stats", stats: takeStats(a, d, p) }), plan.statsIntervalMs);
      return;
    }
    case "connect":
      if (audience === null) return fatal("connect before plan");
      audience.connectAll(msg.upTo);
      return;
    case "load":
      if (driver === null) return fatal("load before plan");
      if (msg.load === null) driver.stop();
      else driver.start(msg.load);
      loadsApplied++;
      return;
    case "track": {
      const a = audience;
      if (a === null) return fatal("track before plan");
      if (msg.act === null) {
        a.tracker = null;
        return;
      }
      const base = a.lastTotals?.byAct[msg.act] ?? 0;
      a.tracker = new VisibilityTracker(msg.act, base, a.visibleHist);
      // Observers: the last ready connections (senders are taken from the first ones; a connection
      // that starts sending leaves the set, see Audience.setSending). Subscribed last, they are
      // also the last a fan-out reaches: the conservative side.
      const ready = a.readyConnections();
      a.observers = new Set();
      for (let i = ready.length - 1; i >= 0 && a.observers.size < MAX_OBSERVERS; i--) {
        if (!ready[i]!.sending) a.observers.add(ready[i]!.id);
      }
      return;
    }
    case "close": {
      if (audience === null || driver === null || plan === null) return process.exit(0);
      driver.stop();
      if (statsTimer !== null) clearInterval(statsTimer);
      await audience.closeAll(3000);
      const stats = takeStats(audience, driver, plan);
      send({ type: "final", stats }, () => process.exit(0));
      return;
    }
  }
}

process.on("message", (msg: RunnerToWorker) => {
  handle(msg).catch((err: unknown) => fatal(err instanceof Error ? (err.stack ?? err.message) : String(err)));
});
process.on("disconnect", () => process.exit(0));
