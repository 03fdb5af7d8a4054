/**
 * Reader flow control: a viewer that stops reading stops costing the others anything.
 *
 * Why not uWS's backpressure alone: on Linux a stopped reader's kernel socket buffers (its receive
 * buffer and our send buffer, both autotuned) absorb megabytes before `getBufferedAmount()` shows a
 * byte, and until then every published frame is copied into each stopped socket. So we measure what
 * the client has actually read: TCP delivers in order, so a pong proves the client read every byte
 * sent before its ping.
 *
 * Guarantees:
 *  - Per connection, the topic bytes (topic-streams.ts) acknowledged by its last answered ping are
 *    kept; a connection is pinged at its join, then at a visit that finds its last ping answered
 *    and half the bound published since (a show of small frames costs a ping every few minutes).
 *  - Visits are staggered: every `sliceMs` a slice of the readers is visited, so that each is visited
 *    at least once per `roundMs` (the per-slice work is readers x sliceMs / roundMs, never all readers at once).
 *  - A reader whose ping has been unanswered for `roundMs` or more, with more than `unackedBytes`
 *    published to its topic since its last answered ping, is parked at its next visit: unsubscribed (and out of fanout.ts's member
 *    lists), so nothing more is copied to it. At most `unackedBytes` or two rounds and a slice of its
 *    topic's frames, whichever is more (plus its acks), sit unread in its buffers: the memory bound
 *    per stopped reader. A reader that answers within a round is never parked, however much it is sent.
 *  - A parked reader is pinged once more with a distinct payload; its pong proves it read
 *    everything sent to it: it is resumed: subscribed again and sent a fresh welcome (latest
 *    totals, show and stage: conflation; frames published while it was parked are never sent to it).
 *  - A reader parked for `closeAfterMs` is closed with 4009 slow_consumer at a visit, at most
 *    `closesPerSlice` per slice (readers that stopped together are not all closed in one slice:
 *    the others' ticks stay on time, and the reconnects that follow are spread).
 *  - Counting is untouched: buzzes and acks of a parked connection are handled as any other's.
 *  - While parked, a connection is not one of its show's subscribers, so not in `watching`.
 */
import type { Hub } from "../broadcast/hub.ts";
import type { Family } from "../ops/metrics.ts";
import type { Conn } from "./connection.ts";
import type { Fanout } from "./fanout.ts";
import type { TopicStream, TopicStreams } from "./topic-streams.ts";
import type { WebSocket } from "./uws.ts";
import type { FrameSink } from "./ws-v2.ts";

export interface ReaderFlowOptions {
  /** Bytes a reader may leave unacknowledged (with a ping unanswered for a round) before it is parked. */
  unackedBytes: number;
  /** A reader parked this long is closed as slow_consumer. */
  closeAfterMs: number;
  /** Every reader is visited once per round. */
  roundMs: number;
  /** Visits run every sliceMs (the caller's timer). */
  sliceMs: number;
  /** At most this many parked readers closed per slice (the rest at a later visit). */
  closesPerSlice: number;
}

/** A connection's flow state (on its Conn). */
export interface ReaderState {
  /** Its topic's stream; null before the welcome. */
  stream: TopicStream | null;
  /** stream.bytes when its last answered ping was sent (everything before is read). */
  ackedAt: number;
  /** stream.bytes when its outstanding ping was sent; -1: none outstanding. */
  pingAt: number;
  /** When its outstanding ping was sent (ms). */
  pingSince: number;
  /** When it was parked (ms); 0: not parked. */
  parkedSince: number;
}

export function newReaderState(): ReaderState {
  return { stream: null, ackedAt: 0, pingAt: -1, pingSince: 0, parkedSince: 0 };
}

// Our ping payloads: a steady ping, and the probe that resumes a parked reader. uWS's own
// automatic pings have an empty payload; a pong with another payload is ignored.
const PING = new Uint8Array([0x62, 0x7a]); // "bz"
const PROBE = new Uint8Array([0x62, 0x70]); // "bp"

export class ReaderFlow {
  private readonly readers = new Set<WebSocket<Conn>>();
  private cursor: Iterator<WebSocket<Conn>> | null = null;
  private parkedNow = 0;
  private parkedTotal = 0;
  private resumedTotal = 0;
  private closedTotal = 0;
  private closesThisSlice = 0;

  constructor(
    private readonly streams: TopicStreams,
    private readonly hub: Hub,
    private readonly fanout: Fanout | undefined,
    private readonly sink: Pick<FrameSink, "close">,
    private readonly onSlowClose: () => void,
    private readonly opts: ReaderFlowOptions,
  ) {}

  /** After the hub's join (subscribed, welcome sent): start tracking it, and ping it. */
  joined(ws: WebSocket<Conn>, c: Conn, nowMs: number): void {
    const topic = ws.getTopics()[0];
    if (topic === undefined) return;
    const r = c.reader;
    r.stream = this.streams.of(topic);
    r.ackedAt = r.stream.bytes;
    r.pingAt = r.stream.bytes;
    r.pingSince = nowMs;
    ws.ping(PING);
    this.readers.add(ws);
  }

  /** From the close handler. */
  left(ws: WebSocket<Conn>, c: Conn): void {
    if (!this.readers.delete(ws)) return;
    if (c.reader.parkedSince > 0) this.parkedNow--;
    c.reader.parkedSince = 0;
  }

  /** A pong: the client has read everything sent before the matching ping. */
  pong(ws: WebSocket<Conn>, c: Conn, message: ArrayBuffer): void {
    if (!c.open || message.byteLength !== 2) return;
    const r = c.reader;
    const tag = new Uint8Array(message)[1];
    if (tag === PING[1] && r.pingAt >= 0) {
      r.ackedAt = r.pingAt;
      r.pingAt = -1;
    } else if (tag === PROBE[1] && r.parkedSince > 0) this.resume(ws, c, r);
  }

  /** One slice of visits (call every `sliceMs`). */
  visit(nowMs: number): void {
    const n = Math.ceil((this.readers.size * this.opts.sliceMs) / this.opts.roundMs);
    this.closesThisSlice = 0;
    for (let i = 0; i < n; i++) {
      this.cursor ??= this.readers.values();
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = null;
        return;
      }
      this.check(next.value, nowMs);
    }
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_readers_parked",
        help: "Connections parked now: they left too much unread, so frames are not sent to them until they catch up.",
        kind: "gauge",
        samples: [{ value: this.parkedNow }],
      },
      {
        name: "buzzcast_readers_parked_total",
        help: "Times a connection was parked for leaving more than READER_UNACKED_BYTES unread.",
        kind: "counter",
        samples: [{ value: this.parkedTotal }],
      },
      {
        name: "buzzcast_readers_resumed_total",
        help: "Parked connections that caught up and were sent a fresh welcome.",
        kind: "counter",
        samples: [{ value: this.resumedTotal }],
      },
      {
        name: "buzzcast_readers_parked_closed_total",
        help: "Parked connections closed as slow_consumer after READER_PARKED_CLOSE_MS.",
        kind: "counter",
        samples: [{ value: this.closedTotal }],
      },
    ];
  }

  private check(ws: WebSocket<Conn>, nowMs: number): void {
    const c = ws.getUserData();
    const r = c.reader;
    if (!c.open || r.stream === null) return;
    if (r.parkedSince > 0) {
      if (nowMs - r.parkedSince < this.opts.closeAfterMs || this.closesThisSlice >= this.opts.closesPerSlice) return;
      this.closesThisSlice++;
      this.closedTotal++;
      this.onSlowClose();
      return this.sink.close(ws, c, "slow_consumer", "not reading frames; reconnect to resume");
    }
    const unacked = r.stream.bytes - r.ackedAt;
    if (r.pingAt >= 0) {
      if (nowMs - r.pingSince >= this.opts.roundMs && unacked > this.opts.unackedBytes) this.park(ws, c, r, nowMs);
      return;
    }
    if (unacked < this.opts.unackedBytes / 2) return;
    r.pingAt = r.stream.bytes;
    r.pingSince = nowMs;
    ws.ping(PING);
  }

  private park(ws: WebSocket<Conn>, c: Conn, r: ReaderState, nowMs: number): void {
    for (const t of ws.getTopics()) ws.unsubscribe(t);
    this.fanout?.left(ws, c);
    r.parkedSince = nowMs;
    this.parkedNow++;
    this.parkedTotal++;
    ws.ping(PROBE);
  }

  private resume(ws: WebSocket<Conn>, c: Conn, r: ReaderState): void {
    const show = c.counts?.show;
    if (show === undefined) return;
    r.parkedSince = 0;
    this.parkedNow--;
    this.resumedTotal++;
    this.hub.join(ws, show, c.protocol);
    this.fanout?.joined(ws, c);
    const s = r.stream!;
    r.ackedAt = s.bytes;
    r.pingAt = -1;
  }
}
