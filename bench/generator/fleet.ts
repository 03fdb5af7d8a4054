/**
 * The runner's side of the generator: forks worker processes, gives each its share of connections
 * (at most `MAX_CONNECTIONS_PER_WORKER`, under the 20,000 open files per process allowed here),
 * sends load commands (rates split evenly), and aggregates their reports: cumulative counters are
 * summed over each worker's latest report; interval histograms are merged into the run's window
 * histograms and into a per-sample histogram for the timeline.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mergeEncoded, newLatencyHistogram } from "../stats/histogram.ts";
import { FrameSpread } from "../stats/frame-spread.ts";
import { tsxExecArgv } from "../run/tsx-args.ts";
import type { LoadPlan, RunnerToWorker, WorkerPlan, WorkerStats, WorkerToRunner } from "./ipc.ts";

/** Open files allowed per process on this machine (hard limit), minus room for the process itself. */
export const OPEN_FILES_PER_PROCESS = 20_000;
export const MAX_CONNECTIONS_PER_WORKER = 18_000;
/** Ephemeral ports per (source address) when the socket is bound before connecting. */
export const PORTS_PER_SOURCE_ADDRESS = 28_000;

/** What the runner asks of the whole fleet; each worker gets a share of it as its WorkerPlan. */
export interface FleetOptions extends Pick<
  WorkerPlan,
  | "targets"
  | "dialect"
  | "protocol"
  | "deflate"
  | "show"
  | "sourceAddresses"
  | "connectRatePerSec"
  | "maxPendingConnects"
  | "sndbuf"
  | "statsIntervalMs"
  | "tcpMemBudgetBytes"
> {
  connections: number;
  workers: number;
}

/** The workers' figures added up (counters summed, gauges summed, the largest tick gap). */
export interface FleetTotals extends Pick<
  WorkerStats,
  | "connecting"
  | "ready"
  | "observers"
  | "opened"
  | "failed"
  | "droppedAfterReady"
  | "reasons"
  | "buzzesSent"
  | "ackCounted"
  | "ackRejected"
  | "totalsFrames"
  | "totalsWireBytes"
  | "rxBytes"
  | "readyMs"
  | "observerFrames"
  | "observerMs"
  | "framesMissed"
  | "seqRegressions"
  | "tcpMemPauses"
  | "sndbufCapped"
  | "rssBytes"
  | "tickGapMaxMs"
> {
  workers: number;
  cpuSec: number;
}

/** Workers needed for `connections` (at least `requested`). */
export function workersFor(connections: number, requested: number): number {
  return Math.max(requested, Math.ceil(connections / MAX_CONNECTIONS_PER_WORKER), 1);
}

/** Splits `total` into `parts` integers that differ by at most one and sum to `total`. */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total - base * parts ? 1 : 0));
}

export class Fleet {
  readonly latest = new Map<number, WorkerStats>();
  /** `load` messages sent per worker (a worker's stats count the ones it handled: `loadsApplied`). */
  private readonly loadsSent: number[] = [];
  /** Histograms over the current measurement window (see beginWindow). */
  windowLatency = newLatencyHistogram();
  windowVisible = newLatencyHistogram();
  /** Receipt spread of the same frame over every client, in the window (stats/frame-spread.ts). */
  readonly windowSpread = new FrameSpread();
  /** Connect+handshake+welcome times over the whole run. */
  readonly connectTimes = newLatencyHistogram();
  /** Since the last takeSample(): for the timeline. */
  sampleLatency = newLatencyHistogram();
  private readonly procs: ChildProcess[] = [];
  private readonly finals = new Map<number, WorkerStats>();
  private readonly exited: Array<Promise<void>> = [];
  private readonly runnerCpuAtStart = process.cpuUsage();
  fatal: string | null = null;
  /** Largest gap between totals frames on any worker's reference connection since beginWindow. */
  windowTickGapMaxMs = 0;
  private closing = false;

  private constructor(
    readonly options: FleetOptions,
    readonly shares: number[],
  ) {}

  static start(options: FleetOptions): Fleet {
    const shares = split(options.connections, options.workers);
    const fleet = new Fleet(options, shares);
    const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));
    const rates = split(options.connectRatePerSec, options.workers);
    let first = 0;
    shares.forEach((share, w) => {
      const proc = fork(workerPath, [], { execArgv: tsxExecArgv(), stdio: ["ignore", "inherit", "inherit", "ipc"] });
      fleet.procs.push(proc);
      fleet.exited.push(
        new Promise((resolve) =>
          proc.once("exit", (code, signal) => {
            if (!fleet.finals.has(w) && fleet.fatal === null && !fleet.closing)
              fleet.fatal = `worker ${w} exited (${code ?? signal}) before its final report`;
            resolve();
          }),
        ),
      );
      proc.on("message", (m: WorkerToRunner) => fleet.onMessage(m));
      const plan: WorkerPlan = {
        worker: w,
        targets: options.targets,
        dialect: options.dialect,
        protocol: options.protocol,
        deflate: options.deflate,
        show: options.show,
        connections: share,
        firstIndex: first,
        sourceAddresses: options.sourceAddresses,
        connectRatePerSec: options.connectRatePerSec > 0 ? Math.max(1, rates[w]!) : 0,
        maxPendingConnects: options.maxPendingConnects,
        sndbuf: options.sndbuf,
        statsIntervalMs: options.statsIntervalMs,
        tcpMemBudgetBytes: options.tcpMemBudgetBytes,
      };
      first += share;
      fleet.send(w, { type: "plan", plan });
    });
    return fleet;
  }

  private onMessage(m: WorkerToRunner): void {
    if (m.type === "fatal") {
      this.fatal = m.message;
      return;
    }
    const s = m.stats;
    this.latest.set(s.worker, s);
    if (m.type === "final") this.finals.set(s.worker, s);
    this.windowTickGapMaxMs = Math.max(this.windowTickGapMaxMs, s.tickGapMaxMs);
    this.windowLatency = mergeEncoded([s.latencyHist], this.windowLatency);
    this.windowVisible = mergeEncoded([s.visibleHist], this.windowVisible);
    this.windowSpread.add(s.frameReceipts);
    mergeEncoded([s.connectHist], this.connectTimes);
    mergeEncoded([s.latencyHist], this.sampleLatency);
  }

  send(worker: number, msg: RunnerToWorker): void {
    const p = this.procs[worker];
    if (!p?.connected) return;
    p.send(msg);
    if (msg.type === "load") this.loadsSent[worker] = (this.loadsSent[worker] ?? 0) + 1;
  }

  broadcast(msg: RunnerToWorker): void {
    for (let w = 0; w < this.procs.length; w++) this.send(w, msg);
  }

  /** Opens connections until `upTo` in total have been started (default: all), split like the shares. */
  connect(upTo?: number): void {
    if (upTo === undefined) return this.broadcast({ type: "connect" });
    const parts = split(Math.min(upTo, this.options.connections), this.procs.length);
    parts.forEach((n, w) => this.send(w, { type: "connect", upTo: Math.min(n, this.shares[w]!) }));
  }

  /** Starts (or stops, with null) load on every worker, the rate and senders split evenly. */
  load(plan: LoadPlan | null, onlyWorker?: number): void {
    if (plan === null) return this.broadcast({ type: "load", load: null });
    const ws = onlyWorker === undefined ? this.procs.map((_, i) => i) : [onlyWorker];
    const rates = split(plan.ratePerSec, ws.length);
    const senders = split(plan.senders, ws.length);
    ws.forEach((w, i) => {
      const load: LoadPlan = { ...plan, ratePerSec: rates[i]!, senders: senders[i]! };
      if (plan.ratePerSec > 0 && load.ratePerSec === 0) return; // this worker gets no share
      if (plan.senders > 0 && load.senders === 0) return;
      this.send(w, { type: "load", load });
    });
  }

  /** Restarts the window histograms (e.g. after connecting, before measuring). */
  beginWindow(): void {
    this.windowLatency = newLatencyHistogram();
    this.windowVisible = newLatencyHistogram();
    this.windowSpread.reset();
    this.windowTickGapMaxMs = 0;
  }

  /** Returns and resets the per-sample latency histogram. */
  takeSampleLatency(): ReturnType<typeof newLatencyHistogram> {
    const h = this.sampleLatency;
    this.sampleLatency = newLatencyHistogram();
    return h;
  }

  totals(): FleetTotals {
    const t: FleetTotals = {
      workers: this.procs.length,
      connecting: 0,
      ready: 0,
      observers: 0,
      opened: 0,
      failed: 0,
      droppedAfterReady: 0,
      reasons: {},
      buzzesSent: 0,
      ackCounted: 0,
      ackRejected: 0,
      totalsFrames: 0,
      totalsWireBytes: 0,
      rxBytes: 0,
      readyMs: 0,
      observerFrames: 0,
      observerMs: 0,
      framesMissed: 0,
      seqRegressions: 0,
      tcpMemPauses: 0,
      sndbufCapped: 0,
      cpuSec: 0,
      rssBytes: 0,
      tickGapMaxMs: 0,
    };
    for (const s of this.latest.values()) {
      t.connecting += s.connecting;
      t.ready += s.ready;
      t.observers += s.observers;
      t.opened += s.opened;
      t.failed += s.failed;
      t.droppedAfterReady += s.droppedAfterReady;
      for (const [k, v] of Object.entries(s.reasons)) t.reasons[k] = (t.reasons[k] ?? 0) + v;
      t.buzzesSent += s.buzzesSent;
      t.ackCounted += s.ackCounted;
      t.ackRejected += s.ackRejected;
      t.totalsFrames += s.totalsFrames;
      t.totalsWireBytes += s.totalsWireBytes;
      t.rxBytes += s.rxBytes;
      t.readyMs += s.readyMs;
      t.observerFrames += s.observerFrames;
      t.observerMs += s.observerMs;
      t.framesMissed += s.framesMissed;
      t.seqRegressions += s.seqRegressions;
      t.tcpMemPauses += s.tcpMemPauses;
      t.sndbufCapped += s.sndbufCapped;
      t.cpuSec += (s.cpuUserUs + s.cpuSystemUs) / 1e6;
      t.rssBytes += s.rssBytes;
      t.tickGapMaxMs = Math.max(t.tickGapMaxMs, s.tickGapMaxMs);
    }
    const runner = process.cpuUsage(this.runnerCpuAtStart);
    t.cpuSec += (runner.user + runner.system) / 1e6;
    return t;
  }

  /** Resolves when every worker has reported at least once and `pred` holds, or rejects at the deadline. */
  async waitUntil(pred: (t: FleetTotals) => boolean, timeoutMs: number, what: string): Promise<FleetTotals> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.fatal !== null) throw new Error(`generator worker failed: ${this.fatal}`);
      const t = this.totals();
      if (this.latest.size === this.procs.length && pred(t)) return t;
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Resolves once every worker has reported after this call and after handling every `load` sent
   * to it (so counters include all sends so far, and none of a load stopped before this call
   * follows: a stats timer can fire before a queued stop is handled).
   */
  async freshTotals(timeoutMs = 5000): Promise<FleetTotals> {
    const since = Date.now();
    return this.waitUntil(
      () => [...this.latest.values()].every((s) => s.t > since && s.loadsApplied >= (this.loadsSent[s.worker] ?? 0)),
      timeoutMs,
      "fresh worker stats",
    );
  }

  /** Closes every connection, collects the workers' final reports, and waits for them to exit. */
  async close(timeoutMs = 10_000): Promise<FleetTotals> {
    this.closing = true;
    this.broadcast({ type: "close" });
    const timer = setTimeout(() => {
      for (const p of this.procs) if (p.exitCode === null) p.kill("SIGKILL");
    }, timeoutMs);
    await Promise.all(this.exited);
    clearTimeout(timer);
    return this.totals();
  }
}
