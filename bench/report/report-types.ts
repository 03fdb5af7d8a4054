/**
 * The JSON report. The first block of fields is fixed (other tools read them):
 * scenario, mode, connections, durationSec, tickHz, buzzesSent, buzzesCounted, buzzesPerSec,
 * deliveriesPerSec, latencyMs, framesMissed, serverRssBytes, serverCpuPct, generatorCpuPct,
 * baseline. CPU percentages are of one core (200 = both cores of this machine).
 */
import type { HttpProbeFigures } from "../scenarios/http-probe.ts";
import type { BaselineKind } from "../run/server-process.ts";
import type { Sample } from "../run/sampler.ts";
import type { LatencyMs } from "../stats/histogram.ts";

export interface CoreFigures {
  scenario: string;
  mode: "flood" | "paced" | null;
  /** Connections that were ready (welcomed) during the measured phase. */
  connections: number;
  durationSec: number;
  /** Totals frames per second per connection, as received by the clients. */
  tickHz: number;
  buzzesSent: number;
  /** From the server's own totals (GET /api/shows/:show), after they settled. */
  buzzesCounted: number;
  buzzesPerSec: number;
  /** Totals frames received per second, all connections together. */
  deliveriesPerSec: number;
  /** Percentiles without the count; what was measured is in `latencyKind`. */
  latencyMs: Omit<LatencyMs, "count">;
  framesMissed: number;
  serverRssBytes: number | null;
  serverCpuPct: number | null;
  generatorCpuPct: number;
}

export type LimitedBy = "server" | "generator" | "machine" | "neither" | "unknown";

export interface RunFigures extends CoreFigures {
  /** buzzcast wire protocol of this run (baselines: v1), and whether permessage-deflate was offered. */
  protocol: "v1" | "v2";
  deflate: boolean;
  /** Wire bytes per totals frame received, WebSocket header included (compressed size when deflated). */
  bytesPerTotalsDelivery: number | null;
  /** Bytes read per ready connection per second, all frames and headers (egress per viewer). */
  egressBytesPerViewerSec: number | null;
  /** `threads`: event-loop threads serving connections over all nodes (buzzcast: WORKERS each). */
  server: { kind: string; nodes: number; threads: number; startedByBench: boolean; urls: string[] };
  latencyKind: "tick-to-receipt" | "buzz-to-visible" | "none";
  latencySamples: number;
  /** show scenario: tick-to-receipt next to the buzz-to-visible headline. */
  tickLatencyMs?: Omit<LatencyMs, "count">;
  /** show, fanout: for each receipt, its time minus the first receipt of the same frame (`ts`) by any client; pooled. */
  receiptSpreadMs?: Omit<LatencyMs, "count"> & { frames: number };
  connectionsRequested: number;
  /** ingest: connections that buzzed, and connections that only watched (tick figures are theirs). */
  senders?: number;
  observers?: number;
  connectionsFailed: number;
  droppedAfterReady: number;
  failureReasons: Record<string, number>;
  connectMs: Omit<LatencyMs, "count">;
  connectRatePerSec?: number;
  /** connections scenario: server RSS (median) with only the warm-up group connected. */
  serverRssIdleBytes?: number | null;
  connectionsWarmup?: number;
  /** connections scenario: generator RSS growth per connection added after the warm-up. */
  generatorBytesPerConnection?: number | null;
  serverBytesPerConnection?: number | null;
  serverCpuUsPerBuzz?: number | null;
  /** ingest: buzzes counted per second of server CPU (the per-core rate; a server may use several threads). */
  buzzesPerServerCoreSec?: number | null;
  serverCpuUsPerDelivery?: number | null;
  /** fanout: GET /api/shows/:show answer times during the measured window (scenarios/http-probe.ts). */
  httpApi?: HttpProbeFigures;
  /** Seconds from the first buzz until the server's totals stopped moving. */
  countWindowSec?: number;
  countedVia: "http" | "clients" | "none";
  ackCounted: number;
  ackRejected: number;
  countsExact?: boolean;
  countCheck?: Record<string, { expected: number; actual: number }>;
  tickGapMaxMs: number;
  seqRegressions: number;
  machineCpuPct: number | null;
  /** CPU used by processes outside this run (other work on the box), percent of one core. */
  otherCpuPct: number | null;
  generator: {
    workers: number;
    sndbufBytes: number;
    sndbufCapped: number;
    tcpMemPauses: number;
    sourceAddresses: number;
    rssBytes: number;
  };
  limitedBy: LimitedBy;
  notes: string[];
  timeline: Sample[];
}

export interface TargetRow {
  what: string;
  target: string;
  measured: string;
  ratio: number | null;
  pass: boolean | null;
}

export interface BenchReport extends RunFigures {
  /** buzzcast runs with the other protocols of --protocol (same command, fresh server each). */
  protocolRuns?: Partial<Record<"v1" | "v2", RunFigures>>;
  baseline?: Partial<Record<BaselineKind, RunFigures>>;
  targets: TargetRow[];
  machine: Record<string, string | number>;
  command: string;
  startedAt: string;
  benchVersion: 1;
}
