/**
 * Messages between the bench runner and its generator worker processes (child_process IPC).
 * Bench-internal: none of this crosses the wire to a server (that is shared/protocol.ts).
 * Counters marked cumulative only grow during a worker's life; the runner keeps the latest per worker.
 * Histograms are per interval (reset after each report) so the runner can plot them over time and
 * add them up for the whole run.
 */
import type { DialectName } from "./dialect.ts";
import type { WireProtocol } from "./wire-protocol.ts";
import type { Target } from "./lean-connection.ts";
import type { FrameReceipts } from "../stats/frame-spread.ts";

export interface WorkerPlan {
  worker: number;
  targets: Target[];
  dialect: DialectName;
  /** buzzcast wire protocol: v1 JSON, or v2 binary (subprotocol buzzcast.v2). */
  protocol: WireProtocol;
  /** Offer permessage-deflate in the handshake (the server may decline). */
  deflate: boolean;
  show: string;
  /** Connections this worker opens. */
  connections: number;
  /** Global index of this worker's first connection: picks target, source address and viewer id. */
  firstIndex: number;
  sourceAddresses: string[];
  /** This worker's share of the connect rate (connections/s); 0 = as fast as the server accepts. */
  connectRatePerSec: number;
  /** Connection attempts in flight at once (TCP + upgrade + hello). */
  maxPendingConnects: number;
  /** SO_SNDBUF per socket in bytes; 0 = kernel default (autotuned). */
  sndbuf: number;
  statsIntervalMs: number;
  /** Pause sending while the kernel's TCP memory (all sockets) is above this many bytes; 0 = never. */
  tcpMemBudgetBytes: number;
}

export interface LoadPlan {
  mode: "flood" | "paced";
  /** Buzzes per second for this worker; 0 = as fast as the connections accept. */
  ratePerSec: number;
  act: string;
  /** How many of the ready connections send (the first ones); 0 = all. */
  senders: number;
  /** Frames per write in flood mode. */
  batchFrames: number;
}

export type RunnerToWorker =
  | { type: "plan"; plan: WorkerPlan }
  /** Open connections until this worker has started `upTo` of its share (default: all of it). */
  | { type: "connect"; upTo?: number }
  | { type: "load"; load: LoadPlan | null }
  /** Start measuring buzz -> visible-to-others latency for `act` (only this worker may buzz it). */
  | { type: "track"; act: string | null }
  | { type: "close" };

export interface WorkerStats {
  worker: number;
  /** Date.now() when taken. */
  t: number;
  intervalMs: number;
  // gauges
  connecting: number;
  ready: number;
  /** Ready connections not sending (their frames give the tick figures). */
  observers: number;
  // cumulative
  opened: number;
  failed: number;
  /** Closes the generator did not ask for, after the connection was ready. */
  droppedAfterReady: number;
  /** Failure reasons (socket error codes, handshake errors, close-code names) -> count. */
  reasons: Record<string, number>;
  buzzesSent: number;
  /** Sum over connections of the latest ack's `counted`. */
  ackCounted: number;
  ackRejected: number;
  totalsFrames: number;
  /** Wire bytes of those totals frames (WebSocket headers included; compressed size if deflated). */
  totalsWireBytes: number;
  /** Bytes read by every socket (handshakes, headers and every frame). */
  rxBytes: number;
  /** Ready connections integrated over time (connection-ms): bytes per viewer-second = rxBytes / this. */
  readyMs: number;
  observerFrames: number;
  /** Observers integrated over time (connection-ms): observer tick rate = observerFrames / this. */
  observerMs: number;
  framesMissed: number;
  /** Totals frames whose seq did not advance (duplicate or reordered within an epoch). */
  seqRegressions: number;
  tcpMemPauses: number;
  /** `load` messages handled so far: stats that count them were taken after those loads started or stopped. */
  loadsApplied: number;
  /** Sockets whose SO_SNDBUF was capped (the rest use the kernel default). */
  sndbufCapped: number;
  /** Latest totals the first ready connection saw: epoch, seq and sum over acts. */
  lastTotals: { epoch: string; seq: number; sum: number; byAct: Record<string, number> } | null;
  /** Largest gap between two totals frames on the first ready connection, this interval (ms). */
  tickGapMaxMs: number;
  // per interval
  latencyHist: string;
  visibleHist: string;
  connectHist: string;
  /** Receipt latencies per frame ts (stats/frame-spread.ts). */
  frameReceipts?: FrameReceipts;
  // process
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
}

export type WorkerToRunner =
  { type: "stats"; stats: WorkerStats } | { type: "final"; stats: WorkerStats } | { type: "fatal"; message: string };
