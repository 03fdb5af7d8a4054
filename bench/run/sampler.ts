/**
 * Once a second: the timeline sample (generator counters from the fleet, server CPU/RSS from /proc,
 * machine CPU) and the live progress line on stderr. Also takes the window snapshots scenarios use
 * to compute their figures (`snap()`), so every figure in a report comes from the same sources.
 */
import type { Fleet, FleetTotals } from "../generator/fleet.ts";
import { summarizeMs } from "../stats/histogram.ts";
import { machineBusySec } from "../stats/machine-cpu.ts";
import { sampleProcessTree } from "../stats/proc-sampler.ts";

export interface Sample {
  t: number;
  phase: string;
  connections: number;
  connecting: number;
  buzzesSentPerSec: number;
  buzzesCountedPerSec: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  tickHz: number;
  serverCpuPct: number | null;
  serverRssBytes: number | null;
  generatorCpuPct: number;
  generatorRssBytes: number;
  machineCpuPct: number | null;
}

/** A point-in-time reading of every cumulative source. */
export interface Snapshot {
  tMs: number;
  fleet: FleetTotals;
  serverCpuSec: number | null;
  serverRssBytes: number | null;
  machineBusySec: number | null;
  /** Sum of the totals the clients last saw (max over workers). */
  countedSeen: number;
}

export function serverSample(pids: number[]): { cpuSec: number; rssBytes: number } | null {
  if (pids.length === 0) return null;
  let cpuSec = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    const s = sampleProcessTree(pid);
    if (s === null) return null;
    cpuSec += s.cpuSec;
    rssBytes += s.rssBytes;
  }
  return { cpuSec, rssBytes };
}

export function rate(a: number, b: number, dtMs: number): number {
  return dtMs > 0 ? ((b - a) * 1000) / dtMs : 0;
}

export class Sampler {
  readonly samples: Sample[] = [];
  phase = "connect";
  private timer: NodeJS.Timeout | null = null;
  private last: Snapshot;
  private readonly t0 = performance.now();

  constructor(
    private readonly fleet: Fleet,
    private readonly pids: number[],
    private readonly label: string,
    private readonly quiet: boolean,
  ) {
    this.last = this.snap();
  }

  snap(): Snapshot {
    const srv = serverSample(this.pids);
    let countedSeen = 0;
    for (const s of this.fleet.latest.values()) if (s.lastTotals) countedSeen = Math.max(countedSeen, s.lastTotals.sum);
    return {
      tMs: performance.now(),
      fleet: this.fleet.totals(),
      serverCpuSec: srv?.cpuSec ?? null,
      serverRssBytes: srv?.rssBytes ?? null,
      machineBusySec: machineBusySec(),
      countedSeen,
    };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (!this.quiet && process.stderr.isTTY) process.stderr.write("\n");
  }

  private tick(): void {
    const now = this.snap();
    const a = this.last;
    const dt = now.tMs - a.tMs;
    const lat = summarizeMs(this.fleet.takeSampleLatency());
    const pct = (x: number | null, y: number | null) => (x === null || y === null ? null : round1(rate(x, y, dt) * 100));
    const sample: Sample = {
      t: round1((now.tMs - this.t0) / 1000),
      phase: this.phase,
      connections: now.fleet.ready,
      connecting: now.fleet.connecting,
      buzzesSentPerSec: Math.round(rate(a.fleet.buzzesSent, now.fleet.buzzesSent, dt)),
      buzzesCountedPerSec: Math.max(0, Math.round(rate(a.countedSeen, now.countedSeen, dt))),
      deliveriesPerSec: Math.round(rate(a.fleet.totalsFrames, now.fleet.totalsFrames, dt)),
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      tickHz:
        now.fleet.observerMs > a.fleet.observerMs
          ? round1(((now.fleet.observerFrames - a.fleet.observerFrames) * 1000) / (now.fleet.observerMs - a.fleet.observerMs))
          : 0,
      serverCpuPct: pct(a.serverCpuSec, now.serverCpuSec),
      serverRssBytes: now.serverRssBytes,
      generatorCpuPct: round1(rate(a.fleet.cpuSec, now.fleet.cpuSec, dt) * 100),
      generatorRssBytes: now.fleet.rssBytes,
      machineCpuPct: pct(a.machineBusySec, now.machineBusySec),
    };
    this.samples.push(sample);
    this.last = now;
    if (!this.quiet) this.print(sample);
  }

  private print(s: Sample): void {
    const k = (n: number) =>
      n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${n}`;
    const line =
      `[${this.label}] ${s.t.toFixed(0)}s ${s.phase} conns ${k(s.connections)}${s.connecting > 0 ? `(+${k(s.connecting)})` : ""}` +
      ` buzz/s ${k(s.buzzesSentPerSec)} sent ${k(s.buzzesCountedPerSec)} seen` +
      ` deliv/s ${k(s.deliveriesPerSec)} tick ${s.tickHz.toFixed(1)}Hz p99 ${s.p99Ms.toFixed(1)}ms` +
      ` gen ${s.generatorCpuPct.toFixed(0)}%` +
      (s.serverCpuPct !== null ? ` srv ${s.serverCpuPct.toFixed(0)}% ${((s.serverRssBytes ?? 0) / 2 ** 20).toFixed(0)}MB` : "") +
      (s.machineCpuPct !== null ? ` box ${s.machineCpuPct.toFixed(0)}%` : "");
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
    else process.stderr.write(`${line}\n`);
  }
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
