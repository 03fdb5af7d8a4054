/**
 * What every scenario does around its measured phase: size the generator (workers, source
 * addresses) and say when a limit of this machine is in the way, open the audience, sample once a
 * second, and turn two snapshots into window figures. Scenarios add their own phases on top.
 */
import {
  Fleet,
  type FleetTotals,
  MAX_CONNECTIONS_PER_WORKER,
  OPEN_FILES_PER_PROCESS,
  PORTS_PER_SOURCE_ADDRESS,
  workersFor,
} from "../generator/fleet.ts";
import { summarizeMs } from "../stats/histogram.ts";
import type { WireProtocol } from "../generator/wire-protocol.ts";
import type { BenchOptions } from "../run/options.ts";
import { rate, round1, Sampler, type Snapshot } from "../run/sampler.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import type { LimitedBy, RunFigures } from "../report/report-types.ts";

/** Files a server process needs besides its client connections (listen socket, stdio, epoll, ...). */
const SERVER_FD_OVERHEAD = 100;

export interface Session {
  opts: BenchOptions;
  sut: SystemUnderTest;
  fleet: Fleet;
  sampler: Sampler;
  notes: string[];
  show: string;
  connections: number;
}

/** Limits of this machine that a run of `connections` over `targets` server processes would hit. */
export function limitNotes(connections: number, serverProcesses: number, workers: number, sourceAddresses: number): string[] {
  const notes: string[] = [];
  const perServer = OPEN_FILES_PER_PROCESS - SERVER_FD_OVERHEAD;
  if (connections > perServer * serverProcesses) {
    notes.push(
      `${connections} connections exceed what ${serverProcesses} server process(es) can hold here ` +
        `(~${perServer} each: ${OPEN_FILES_PER_PROCESS} open files per process, hard limit); expect failures ` +
        `beyond ~${perServer * serverProcesses}. Use --nodes K with --start, or several --url.`,
    );
  }
  if (workers > 1) {
    notes.push(
      `${workers} generator processes: at most ${MAX_CONNECTIONS_PER_WORKER} connections per process (${OPEN_FILES_PER_PROCESS} open files each).`,
    );
  }
  if (connections > sourceAddresses * PORTS_PER_SOURCE_ADDRESS) {
    notes.push(
      `${connections} connections over ${sourceAddresses} source addresses exceed ~${PORTS_PER_SOURCE_ADDRESS} ephemeral ports each; raise --source-addresses.`,
    );
  }
  return notes;
}

/**
 * Generator processes: --workers, else one per 18,000 connections; receiving 10 frames/s on
 * thousands of connections is the generator's main cost in fan-out, so from 2,000 subscribers on
 * two processes share it (this machine has 2 cores).
 */
export function defaultWorkers(opts: BenchOptions, connections: number): number {
  const fanIn = (opts.scenario === "fanout" || opts.scenario === "show") && connections >= 2000 ? 2 : 0;
  return workersFor(connections, opts.workers > 0 ? opts.workers : fanIn);
}

/** The wire protocol of a run: the first of --protocol for buzzcast; baselines speak v1. */
export function runProtocol(opts: BenchOptions, sut: SystemUnderTest): WireProtocol {
  return sut.kind === "buzzcast" ? opts.protocols[0]! : "v1";
}

/** Whether the generator offers permessage-deflate: --deflate, or the deflate baseline. */
export function runDeflate(opts: BenchOptions, sut: SystemUnderTest): boolean {
  return opts.deflate || sut.kind === "uws-deflate";
}

export async function openSession(
  opts: BenchOptions,
  sut: SystemUnderTest,
  connections: number,
  show: string,
  label: string,
): Promise<Session> {
  const workers = defaultWorkers(opts, connections);
  const sourceAddresses = Array.from({ length: opts.sourceAddresses }, (_, i) => `127.0.0.${2 + i}`);
  const notes = limitNotes(connections, sut.targets.length, workers, opts.sourceAddresses);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  const fleet = Fleet.start({
    connections,
    workers,
    targets: sut.targets,
    dialect: sut.dialect,
    protocol: runProtocol(opts, sut),
    deflate: runDeflate(opts, sut),
    show,
    sourceAddresses,
    connectRatePerSec: opts.connectRate,
    maxPendingConnects: 512,
    sndbuf: opts.sndbuf,
    statsIntervalMs: 500,
    tcpMemBudgetBytes: opts.tcpMemBudgetBytes,
  });
  const sampler = new Sampler(fleet, sut.pids, label, opts.quiet);
  sampler.start();
  return { opts, sut, fleet, sampler, notes, show, connections };
}

/**
 * Connects everyone (or the first `upTo`); resolves when each of them is ready or has failed, or
 * when the connect phase ran out of time (a saturated server accepts slowly): then the run goes on
 * with the connections that are ready, and says so.
 */
export async function connectAll(s: Session, upTo = s.connections): Promise<void> {
  s.sampler.phase = "connect";
  s.fleet.connect(upTo);
  const budgetMs = 60_000 + (s.opts.connectRate > 0 ? (upTo / s.opts.connectRate) * 1000 * 2 : upTo * 2);
  let t: FleetTotals;
  try {
    t = await s.fleet.waitUntil((f) => f.ready + f.failed >= upTo, budgetMs, `${upTo} connections`);
  } catch (err) {
    if (s.fleet.fatal !== null) throw err;
    t = s.fleet.totals();
    s.notes.push(
      `connect phase stopped after ${Math.round(budgetMs / 1000)} s with ${t.ready} of ${upTo} connections ready (${t.connecting} still connecting): the server accepted too slowly`,
    );
    process.stderr.write(`\nnote: ${s.notes[s.notes.length - 1]}\n`);
  }
  if (t.ready === 0) throw new Error(`no connection could be opened: ${JSON.stringify(t.reasons)}`);
  if (upTo < s.connections) return;
  if (t.failed > 0) {
    s.notes.push(`${t.failed} of ${s.connections} connections failed: ${JSON.stringify(t.reasons)}`);
  }
}

export async function closeSession(s: Session): Promise<void> {
  s.sampler.phase = "close";
  await s.fleet.close();
  s.sampler.stop();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WindowFigures {
  sec: number;
  generatorCpuPct: number;
  serverCpuPct: number | null;
  serverCpuSec: number | null;
  machineCpuPct: number | null;
  otherCpuPct: number | null;
  deliveries: number;
  deliveriesPerSec: number;
  tickHz: number;
  sent: number;
  framesMissed: number;
  seqRegressions: number;
  /** Wire bytes per totals frame received (headers included; compressed size when deflated). */
  bytesPerTotalsDelivery: number | null;
  /** Bytes every ready connection read per second (all frames and headers), averaged. */
  egressBytesPerViewerSec: number | null;
}

export function windowFigures(a: Snapshot, b: Snapshot): WindowFigures {
  const dt = b.tMs - a.tMs;
  const sec = dt / 1000;
  const deliveries = b.fleet.totalsFrames - a.fleet.totalsFrames;
  const observerFrames = b.fleet.observerFrames - a.fleet.observerFrames;
  const observerSec = (b.fleet.observerMs - a.fleet.observerMs) / 1000;
  const readySec = (b.fleet.readyMs - a.fleet.readyMs) / 1000;
  const serverCpuSec = a.serverCpuSec !== null && b.serverCpuSec !== null ? b.serverCpuSec - a.serverCpuSec : null;
  const generatorCpuPct = round1(rate(a.fleet.cpuSec, b.fleet.cpuSec, dt) * 100);
  const serverCpuPct = serverCpuSec === null ? null : round1((serverCpuSec / sec) * 100);
  const machineCpuPct =
    a.machineBusySec !== null && b.machineBusySec !== null ? round1(rate(a.machineBusySec, b.machineBusySec, dt) * 100) : null;
  return {
    sec: round1(sec),
    generatorCpuPct,
    serverCpuPct,
    serverCpuSec,
    machineCpuPct,
    otherCpuPct:
      machineCpuPct === null || serverCpuPct === null ? null : Math.max(0, round1(machineCpuPct - serverCpuPct - generatorCpuPct)),
    deliveries,
    deliveriesPerSec: Math.round(deliveries / sec),
    tickHz: observerSec > 0 ? Math.round((observerFrames / observerSec) * 100) / 100 : 0,
    sent: b.fleet.buzzesSent - a.fleet.buzzesSent,
    framesMissed: b.fleet.framesMissed - a.fleet.framesMissed,
    seqRegressions: b.fleet.seqRegressions - a.fleet.seqRegressions,
    bytesPerTotalsDelivery: deliveries > 0 ? round1((b.fleet.totalsWireBytes - a.fleet.totalsWireBytes) / deliveries) : null,
    egressBytesPerViewerSec: readySec > 0 ? round1((b.fleet.rxBytes - a.fleet.rxBytes) / readySec) : null,
  };
}

/**
 * Which side ran out of CPU. The server runs `serverThreads` event loops (buzzcast: WORKERS per
 * node; baselines: 1), the generator `generatorProcesses`; neither can use more than the machine's
 * cores. Saturated: >= 90% of a core per thread or process that can run.
 */
export function limitedBy(w: WindowFigures, serverThreads: number, generatorProcesses: number, cores: number): LimitedBy {
  const serverSat = w.serverCpuPct !== null && w.serverCpuPct >= 90 * Math.min(serverThreads, cores);
  const genSat = w.generatorCpuPct >= 90 * Math.min(generatorProcesses, cores);
  const box = w.machineCpuPct !== null && w.machineCpuPct >= 90 * cores;
  if (serverSat) return "server";
  if (genSat) return "generator";
  if (box) return "machine";
  if (w.serverCpuPct === null) return "unknown";
  return "neither";
}

/** The figures every scenario fills the same way. */
export function baseFigures(
  s: Session,
  w: WindowFigures,
  end: Snapshot,
): Omit<
  RunFigures,
  | "scenario"
  | "mode"
  | "buzzesSent"
  | "buzzesCounted"
  | "buzzesPerSec"
  | "latencyMs"
  | "latencyKind"
  | "latencySamples"
  | "countedVia"
  | "durationSec"
  | "timeline"
  | "limitedBy"
> {
  const f = end.fleet;
  return {
    server: {
      kind: s.sut.kind,
      nodes: s.sut.targets.length,
      threads: s.sut.serverThreads,
      startedByBench: s.sut.startedByBench,
      urls: s.sut.targets.map((t) => `ws://${t.host}:${t.port}${t.path}`),
    },
    protocol: runProtocol(s.opts, s.sut),
    deflate: runDeflate(s.opts, s.sut),
    bytesPerTotalsDelivery: w.bytesPerTotalsDelivery,
    egressBytesPerViewerSec: w.egressBytesPerViewerSec,
    connections: f.ready,
    connectionsRequested: s.connections,
    connectionsFailed: f.failed,
    droppedAfterReady: f.droppedAfterReady,
    failureReasons: f.reasons,
    connectMs: strip(summarizeMs(s.fleet.connectTimes)),
    tickHz: w.tickHz,
    deliveriesPerSec: w.deliveriesPerSec,
    framesMissed: w.framesMissed,
    seqRegressions: w.seqRegressions,
    serverRssBytes: end.serverRssBytes,
    serverCpuPct: w.serverCpuPct,
    generatorCpuPct: w.generatorCpuPct,
    machineCpuPct: w.machineCpuPct,
    otherCpuPct: w.otherCpuPct,
    ackCounted: f.ackCounted,
    ackRejected: f.ackRejected,
    tickGapMaxMs: s.fleet.windowTickGapMaxMs,
    generator: {
      workers: f.workers,
      sndbufBytes: s.opts.sndbuf,
      sndbufCapped: f.sndbufCapped,
      tcpMemPauses: f.tcpMemPauses,
      sourceAddresses: s.opts.sourceAddresses,
      rssBytes: f.rssBytes,
    },
    notes: s.notes,
  };
}

export function strip<T extends { count: number }>(l: T): Omit<T, "count"> {
  const { count: _count, ...rest } = l;
  return rest;
}
