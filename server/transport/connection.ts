/**
 * Per-connection state, kept in the uWS userData object. Every method of a closed uWS WebSocket
 * throws, so everything we need after close lives here, and `open` says whether `ws` may be used.
 */
import type { RejectReason } from "../../shared/codes.ts";
import type { WireProtocol } from "../broadcast/wire-metrics.ts";
import type { BucketState } from "../counting/rate-limiter.ts";
import type { ShowCounts } from "../counting/show-counts.ts";
import { newReaderState, type ReaderState } from "./reader-flow.ts";

export interface Conn {
  readonly id: number;
  /** Negotiated at the upgrade: 2 when the client offered the `buzzcast.v2` subprotocol, else 1. */
  readonly protocol: WireProtocol;
  open: boolean;
  openedAt: number;
  /** The show joined by hello (its counting state, `counts.show` the show); null until then. */
  counts: ShowCounts | null;
  /** A hello is being answered (its show is being looked up). */
  greeting: boolean;
  /** Who `once` dedupes on: the hello's viewer id, else this connection. */
  viewerKey: string;
  /** Highest buzz seq processed on this connection (-1 before the first). */
  lastSeq: number;
  counted: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Outcome of the buzz numbered `lastSeq`. */
  last: "counted" | RejectReason;
  /** True while this connection sits in the ack queue for the next tick. */
  ackPending: boolean;
  /** performance.now() when the first buzz the pending ack covers arrived (ack latency). */
  ackSince: number;
  bucket: BucketState;
  /** Consecutive sweeps that found this connection over the backpressure limit. */
  overLimitSweeps: number;
  /** `once` claims of this connection the store has not decided yet (counting/claims.ts); no ack while > 0. */
  undecided: number;
  /** Topics the hub subscribed it to (fanout.ts's member lists); empty before the welcome. */
  topics: readonly string[];
  /** What it has read of its topic, and whether it is parked (reader-flow.ts). */
  reader: ReaderState;
}

let nextId = 1;

export function newConn(now: number, bucket: BucketState, protocol: WireProtocol = 1): Conn {
  const id = nextId++;
  return {
    id,
    protocol,
    open: false,
    openedAt: now,
    counts: null,
    greeting: false,
    viewerKey: `c${id}`,
    lastSeq: -1,
    counted: 0,
    rejected: {},
    last: "counted",
    ackPending: false,
    ackSince: 0,
    bucket,
    overLimitSweeps: 0,
    undecided: 0,
    topics: [],
    reader: newReaderState(),
  };
}
