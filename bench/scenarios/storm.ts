/**
 * Scenario storm: a reconnect storm after losing one node. K embedded
 * buzzcast nodes (WORKERS=1 each, one process per node), --viewers spread over them unevenly so one
 * node holds the most (40%); then that node is drained (SIGTERM) or killed (SIGKILL), and its
 * viewers reconnect to the others (storm-worker.ts: the client library's rule; a reconnect goes to
 * another node, as a balancer health-checking /readyz sends it).
 * Each fault runs with pacing on (DRAIN_SPREAD_MS 2000, MAX_CONNECT_RATE at its default of 1000 per
 * core) and off (DRAIN_SPREAD_MS=0, MAX_CONNECT_RATE=0: every close at once, retries within 1 s,
 * nothing refused), each on a fresh deployment.
 * Figures per run: time from the fault until every viewer is live again, p50/p99 attempt -> welcome,
 * upgrades refused (503), failed attempts, peak CPU of each surviving node and of the machine
 * (250 ms windows), and the fault's exit code.
 *
 *   npm run bench -- storm [--viewers 15000] [--nodes 3] [--faults drain,kill] [--pacing on,off]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { startServerProcess, type StartedServer } from "../run/server-process.ts";
import { ForkedWorkers } from "../run/forked-workers.ts";
import { machineBusySec } from "../stats/machine-cpu.ts";
import { cpuPct, sampleProcessTree, type ProcSample } from "../stats/proc-sampler.ts";
import type { StormCommand, StormReport } from "./storm-worker.ts";

const PER_WORKER = 10_000;
const TIMEOUT_MS = 60_000;
type Fault = "drain" | "kill";
type Pacing = "on" | "off";

interface Opts {
  viewers: number;
  nodes: number;
  faults: Fault[];
  pacing: Pacing[];
}

export interface StormRun {
  fault: Fault;
  pacing: Pacing;
  viewers: number;
  onTarget: number;
  /** Viewers whose connection the fault ended. */
  affected: number;
  /** Fault -> every viewer live again (null: not within TIMEOUT_MS). */
  recoveryMs: number | null;
  welcomeMs: { p50: number; p99: number; max: number; samples: number };
  refused: number;
  failed: number;
  closes: Record<string, number>;
  peakNodeCpuPct: number[];
  peakMachineCpuPct: number | null;
  faultExitCode: number | null;
  env: Record<string, string>;
}

function parse(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv,
    options: {
      viewers: { type: "string", default: "15000" },
      nodes: { type: "string", default: "3" },
      faults: { type: "string", default: "drain,kill" },
      pacing: { type: "string", default: "on,off" },
    },
  });
  const list = <T extends string>(v: string, allowed: readonly T[], name: string): T[] => {
    const xs = v.split(",").filter((x) => x !== "");
    for (const x of xs) if (!allowed.includes(x as T)) throw new Error(`--${name} takes ${allowed.join(",")} (got ${x})`);
    return xs as T[];
  };
  const nodes = Number(values.nodes);
  if (!(nodes >= 2 && nodes <= 5)) throw new Error("--nodes must be 2-5");
  return {
    viewers: Number(values.viewers),
    nodes,
    faults: list(values.faults, ["drain", "kill"] as const, "faults"),
    pacing: list(values.pacing, ["on", "off"] as const, "pacing"),
  };
}

/** Peak CPU over 250 ms windows, per process and for the machine, while `running`. */
class PeakCpu {
  readonly peaks: number[];
  peakMachine: number | null = null;
  private timer: NodeJS.Timeout;
  constructor(pids: number[]) {
    this.peaks = pids.map(() => 0);
    let prev: Array<ProcSample | null> = pids.map((p) => sampleProcessTree(p));
    let prevBusy = machineBusySec();
    let prevT = performance.now();
    this.timer = setInterval(() => {
      const now = pids.map((p) => sampleProcessTree(p));
      now.forEach((s, i) => {
        const a = prev[i];
        if (s && a) this.peaks[i] = Math.max(this.peaks[i]!, Math.round(cpuPct(a, s)));
      });
      const busy = machineBusySec();
      const t = performance.now();
      if (busy !== null && prevBusy !== null)
        this.peakMachine = Math.max(this.peakMachine ?? 0, Math.round(((busy - prevBusy) / ((t - prevT) / 1000)) * 100));
      prev = now;
      prevBusy = busy;
      prevT = t;
    }, 250);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => (xs.length === 0 ? 0 : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);

async function runOne(o: Opts, fault: Fault, pacing: Pacing): Promise<StormRun> {
  const env: Record<string, string> =
    pacing === "on"
      ? { WORKERS: "1", DRAIN_SPREAD_MS: "2000", MAX_CONNECT_RATE: String(1000 * availableParallelism()) }
      : { WORKERS: "1", DRAIN_SPREAD_MS: "0", MAX_CONNECT_RATE: "0" };
  const nodes: StartedServer[] = [];
  for (let i = 0; i < o.nodes; i++) nodes.push(await startServerProcess("buzzcast", env));
  // Node 0 holds 40%, the others share the rest.
  const homes = Array.from({ length: o.viewers }, (_, i) => (i % 10 < 4 ? 0 : 1 + (i % (o.nodes - 1))));
  const workerCount = Math.max(1, Math.ceil(o.viewers / PER_WORKER));
  const workers = new ForkedWorkers<StormCommand>(new URL("./storm-worker.ts", import.meta.url), workerCount);
  const per = Math.ceil(o.viewers / workerCount);
  try {
    await workers.all((w) => {
      const from = w * per;
      const to = Math.min(o.viewers, from + per);
      return { type: "plan", from, to, ports: nodes.map((n) => n.port), homes: homes.slice(from, to), inFlight: 512 };
    });
    workers.tell({ type: "connect" });
    const deadline = Date.now() + TIMEOUT_MS;
    const totals = async () => (await workers.all<StormReport>(() => ({ type: "report" }))).reduce(sum);
    while ((await totals()).live < o.viewers) {
      if (Date.now() > deadline) throw new Error(`only ${(await totals()).live} of ${o.viewers} viewers connected`);
      await sleep(250);
    }
    await sleep(2000);
    await workers.all(() => ({ type: "mark" }));
    const cpu = new PeakCpu(nodes.slice(1).map((n) => n.pid));
    const t0 = Date.now();
    const exit = fault === "drain" ? nodes[0]!.stop(15_000) : (process.kill(nodes[0]!.pid, "SIGKILL"), nodes[0]!.stop());
    let exited = false;
    void exit.then(() => (exited = true));
    let r = await totals();
    const welcomes: number[] = [...r.welcomeMs];
    // Until the node is gone (a drain closed everyone), and every viewer is live again.
    while ((!exited || r.affected === 0 || r.live < o.viewers) && Date.now() - t0 < TIMEOUT_MS) {
      await sleep(100);
      r = await totals();
      welcomes.push(...r.welcomeMs);
    }
    cpu.stop();
    welcomes.sort((a, b) => a - b);
    return {
      fault,
      pacing,
      viewers: o.viewers,
      onTarget: homes.filter((h) => h === 0).length,
      recoveryMs: r.affected > 0 && r.live >= o.viewers && r.lastLiveAt > 0 ? r.lastLiveAt - t0 : null,
      affected: r.affected,
      welcomeMs: { p50: quantile(welcomes, 0.5), p99: quantile(welcomes, 0.99), max: welcomes.at(-1) ?? 0, samples: welcomes.length },
      refused: r.refused,
      failed: r.failed,
      closes: r.closes,
      peakNodeCpuPct: cpu.peaks,
      peakMachineCpuPct: cpu.peakMachine,
      faultExitCode: await exit,
      env,
    };
  } finally {
    workers.close({ type: "close" });
    await Promise.all(nodes.map((n) => n.stop(5000)));
  }
}

function sum(a: StormReport, b: StormReport): StormReport {
  const closes = { ...a.closes };
  for (const [k, v] of Object.entries(b.closes)) closes[k] = (closes[k] ?? 0) + v;
  return {
    type: "report",
    total: a.total + b.total,
    live: a.live + b.live,
    affected: a.affected + b.affected,
    refused: a.refused + b.refused,
    failed: a.failed + b.failed,
    closes,
    welcomeMs: [...a.welcomeMs, ...b.welcomeMs],
    lastLiveAt: Math.max(a.lastLiveAt, b.lastLiveAt),
  };
}

export async function runStormCli(argv: string[]): Promise<never> {
  const o = parse(argv);
  const runs: StormRun[] = [];
  for (const fault of o.faults) {
    for (const pacing of o.pacing) {
      process.stderr.write(`storm: ${fault}, pacing ${pacing}, ${o.viewers} viewers on ${o.nodes} nodes...\n`);
      runs.push(await runOne(o, fault, pacing));
      await sleep(2000);
    }
  }
  const lines = ["fault\tpacing\ton node\trecovery ms\twelcome p50/p99 ms\trefused\tfailed\tpeak CPU % (nodes; machine)\texit"];
  for (const r of runs) {
    lines.push(
      [
        r.fault,
        r.pacing,
        r.onTarget,
        r.recoveryMs ?? `> ${TIMEOUT_MS}`,
        `${r.welcomeMs.p50}/${r.welcomeMs.p99}`,
        r.refused,
        r.failed,
        `${r.peakNodeCpuPct.join(",")}; ${r.peakMachineCpuPct ?? "?"}`,
        r.faultExitCode ?? "signal",
      ].join("\t"),
    );
  }
  process.stdout.write(`\n${lines.join("\n")}\n\n`);
  for (const r of runs.filter((x) => x.fault === "drain" && x.pacing === "on")) {
    const met = r.recoveryMs !== null && r.recoveryMs <= 5000 && r.failed === 0;
    process.stdout.write(
      `${met ? "MET " : "MISS"} storm, drain of ${r.onTarget}: every viewer live again within 5 s, 0 failed connects: ${r.recoveryMs ?? "never"} ms, ${r.failed} failed\n`,
    );
  }
  mkdirSync("bench/reports", { recursive: true });
  const file = `bench/reports/storm-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ scenario: "storm", argv, opts: o, runs }, null, 2));
  process.stdout.write(`report: ${file}\n`);
  process.exit(0);
}
