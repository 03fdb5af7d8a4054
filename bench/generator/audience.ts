/**
 * One generator process's connections: opens them at a bounded rate (spread over targets and
 * loopback source addresses), says hello, and reads what the server sends: the welcome, totals
 * frames, acks (what was counted) and closes. Connections are never reopened: a bench measures, it
 * does not hide failures.
 * Tick figures (tick-to-receipt latency from `ts`, seq gaps, frames per connection) come from
 * observers only: connections that are not sending. A sender's own socket is busy with its flood;
 * what matters is what the rest of the audience sees. Every frame counts as a delivery.
 * Protocol v1 frames are read by audience-v1.ts, v2 frames by audience-v2.ts; both feed the same
 * counters. Bytes: every byte the sockets read is counted (`rxBytes`, headers included), and
 * totals frames' size on the wire separately (`totalsWireBytes`).
 */
import { closeName } from "../../shared/codes.ts";
import { type Hello, PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { V2_SUBPROTOCOL, encodeClientFrame } from "../../shared/v2/index.ts";
import { newLatencyHistogram, recordMs } from "../stats/histogram.ts";
import { FrameReceiptLog } from "../stats/frame-spread.ts";
import { dialectByName } from "./dialect.ts";
import { V1Reader } from "./audience-v1.ts";
import { V2Reader } from "./audience-v2.ts";
import type { WorkerPlan } from "./ipc.ts";
import type { LeanConnection, LeanEvents } from "./lean-connection.ts";
import { BenchConnection } from "./bench-connection.ts";
import type { VisibilityTracker } from "./visibility.ts";
import { encodeMaskedFrame, OPCODE } from "./ws-frame.ts";

export class Audience implements LeanEvents {
  readonly conns: BenchConnection[] = [];
  readonly latencyHist = newLatencyHistogram();
  readonly visibleHist = newLatencyHistogram();
  /** Receipt latency per frame `ts`, for the receipt spread (stats/frame-spread.ts). */
  readonly receipts = new FrameReceiptLog();
  readonly connectHist = newLatencyHistogram();
  connecting = 0;
  readyCount = 0;
  opened = 0;
  failed = 0;
  droppedAfterReady = 0;
  reasons: Record<string, number> = {};
  ackCounted = 0;
  ackRejected = 0;
  totalsFrames = 0;
  /** Wire bytes (headers included; compressed size under permessage-deflate) of those totals frames. */
  totalsWireBytes = 0;
  /** Totals frames received by observers (connections not sending). */
  observerFrames = 0;
  framesMissed = 0;
  seqRegressions = 0;
  sndbufCapped = 0;
  lastTotals: { epoch: string; seq: number; sum: number; byAct: Record<string, number> } | null = null;
  tickGapMaxMs = 0;
  tracker: VisibilityTracker | null = null;
  /** Connections (by id) whose totals feed the visibility tracker. */
  observers = new Set<number>();

  private reference: BenchConnection | null = null;
  private lastRefFrameAt = 0;
  private readonly reader: V1Reader | V2Reader;
  private readonly v2: V2Reader | null;
  private started = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private readonly readBuffer = Buffer.allocUnsafe(256 * 1024);

  constructor(private readonly plan: WorkerPlan) {
    this.v2 = plan.protocol === "v2" ? new V2Reader(this) : null;
    this.reader = this.v2 ?? new V1Reader(this);
  }

  /** The act table's index of `act` (v2), or undefined before a welcome named it. */
  v2ActIndex(act: string): number | undefined {
    const i = this.v2?.acts.indexOf(act) ?? -1;
    return i >= 0 ? i : undefined;
  }

  /** Bytes read by every connection of this worker since it connected. */
  rxBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.rxBytes;
    return n;
  }

  /** Starts opening connections until `upTo` of this worker's share have been started, at the plan's rate. */
  connectAll(upTo = this.plan.connections): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    const limit = Math.min(upTo, this.plan.connections);
    const t0 = performance.now();
    const first = this.started;
    const step = () => {
      this.connectTimer = null;
      const due =
        this.plan.connectRatePerSec > 0 ? first + Math.floor(((performance.now() - t0) / 1000) * this.plan.connectRatePerSec) + 1 : limit;
      while (this.started < Math.min(due, limit) && this.connecting < this.plan.maxPendingConnects) {
        this.startOne(this.started++);
      }
      if (this.started < limit) this.connectTimer = setTimeout(step, this.connecting >= this.plan.maxPendingConnects ? 5 : 1);
    };
    step();
  }

  get allStarted(): boolean {
    return this.started >= this.plan.connections;
  }

  private startOne(i: number): void {
    const g = this.plan.firstIndex + i;
    const c = new BenchConnection(g, this, dialectByName(this.plan.dialect));
    this.conns.push(c);
    this.connecting++;
    c.openedAt = performance.now();
    const target = this.plan.targets[g % this.plan.targets.length]!;
    const src = this.plan.sourceAddresses[g % this.plan.sourceAddresses.length];
    const offer = { subprotocol: this.plan.protocol === "v2" ? V2_SUBPROTOCOL : undefined, deflate: this.plan.deflate };
    c.connect(target, {
      sndbuf: this.plan.sndbuf,
      readBuffer: this.readBuffer,
      offer,
      ...(src !== undefined ? { localAddress: src } : {}),
    });
    if (c.sndbuf > 0) this.sndbufCapped++;
  }

  // ------------------------------------------------------------------ LeanEvents

  open(c: LeanConnection): void {
    if (this.v2 !== null) {
      c.writeRaw(encodeMaskedFrame(OPCODE.binary, encodeClientFrame({ type: "hello", show: this.plan.show, viewer: `bench-${c.id}` })));
      return;
    }
    const hello: Hello = { type: "hello", protocol: PROTOCOL_VERSION, show: this.plan.show, viewer: `bench-${c.id}` };
    c.send("hello", JSON.stringify(hello));
  }

  message(conn: LeanConnection, data: Buffer, start: number, end: number, binary: boolean): void {
    const c = conn as BenchConnection;
    if (binary !== (this.v2 !== null)) return this.bump(binary ? "binary-frame-on-v1" : "text-frame-on-v2");
    this.reader.message(c, data, start, end);
  }

  closed(conn: LeanConnection, code: number, _reason: string, error: string | undefined): void {
    const c = conn as BenchConnection;
    if (c.ready) {
      this.accrue();
      c.ready = false;
      this.readyCount--;
      if (!c.sending) this.observerCount--;
      if (!c.leaving) {
        this.droppedAfterReady++;
        this.bump(`closed:${closeName(code) ?? code}${error ? `:${error}` : ""}`);
      }
    } else {
      this.connecting--;
      if (!c.leaving) {
        this.failed++;
        this.bump(error ?? `closed:${closeName(code) ?? code}`);
      }
    }
    if (c === this.reference) this.reference = null;
  }

  // ------------------------------------------------------------------ frames

  /** A cumulative ack: `counted` (NaN if unreadable) and the sum of its rejected counts. */
  acked(c: BenchConnection, counted: number, rejected: number): void {
    if (!Number.isNaN(counted)) {
      this.ackCounted += counted - c.ackCounted;
      c.ackCounted = counted;
    }
    this.ackRejected += rejected - c.ackRejected;
    c.ackRejected = rejected;
  }

  badWelcome(c: BenchConnection): void {
    this.bump("bad-welcome");
    c.leaving = false;
    c.close(1002);
  }

  welcomed(c: BenchConnection, epoch: string, seq: number): void {
    c.epoch = epoch;
    c.lastSeq = seq;
    if (!c.ready) {
      this.accrue();
      c.ready = true;
      this.connecting--;
      this.readyCount++;
      if (!c.sending) this.observerCount++;
      this.opened++;
      recordMs(this.connectHist, performance.now() - c.openedAt);
      if (this.reference === null) this.reference = c;
    }
  }

  /**
   * Bookkeeping every totals frame shares, whatever the protocol: deliveries and their wire bytes,
   * and for observers latency from `ts`, seq gaps and the reference connection's tick gaps.
   * Returns what `c` is for this frame; "reference" asks the caller for the whole totals.
   */
  totalsFrame(c: BenchConnection, seq: number, ts: number, t: number): "sender" | "observer" | "reference" {
    this.totalsFrames++;
    this.totalsWireBytes += c.messageWireBytes;
    if (c.sending) {
      if (!Number.isNaN(seq)) c.lastSeq = seq;
      return "sender";
    }
    this.observerFrames++;
    if (!Number.isNaN(ts)) {
      recordMs(this.latencyHist, t - ts);
      this.receipts.record(ts, t - ts);
    }
    if (c.lastSeq >= 0 && !Number.isNaN(seq)) {
      if (seq > c.lastSeq + 1) this.framesMissed += seq - c.lastSeq - 1;
      else if (seq <= c.lastSeq) this.seqRegressions++;
    }
    if (!Number.isNaN(seq)) c.lastSeq = seq;
    if (this.reference === null || this.reference.sending || !this.reference.ready) {
      this.reference = c; // an observer: senders' sockets are busy with their own load
      this.lastRefFrameAt = 0;
    }
    if (c !== this.reference) return "observer";
    const gap = this.lastRefFrameAt > 0 ? t - this.lastRefFrameAt : 0;
    if (gap > this.tickGapMaxMs) this.tickGapMaxMs = gap;
    this.lastRefFrameAt = t;
    return "reference";
  }

  bump(reason: string): void {
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
  }

  /** Ready connections that are not sending, now. */
  observerCount = 0;
  /** Integral of observerCount over time (connection-milliseconds): tick rate = frames / this. */
  observerMs = 0;
  /** Integral of readyCount over time (connection-milliseconds): bytes per viewer-second = rx / this. */
  readyMs = 0;
  private observedSince = performance.now();

  /** Brings observerMs and readyMs up to now; call before observerCount or readyCount changes. */
  accrue(): void {
    const now = performance.now();
    this.observerMs += this.observerCount * (now - this.observedSince);
    this.readyMs += this.readyCount * (now - this.observedSince);
    this.observedSince = now;
  }

  /** Marks a connection as sending (not an observer) or not. */
  setSending(c: BenchConnection, sending: boolean): void {
    if (c.sending === sending) return;
    this.accrue();
    c.sending = sending;
    if (c.ready) this.observerCount += sending ? -1 : 1;
    // A sender never feeds the visibility tracker: its frames were skipped while it sent, so it
    // would later count every buzz of the act as just seen.
    if (sending) this.observers.delete(c.id);
  }

  /** Ready connections, in connection order. */
  readyConnections(): BenchConnection[] {
    return this.conns.filter((c) => c.ready);
  }

  /** Closes every connection with 1000; resolves when all are closed or after `timeoutMs`. */
  async closeAll(timeoutMs: number): Promise<void> {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.started = this.plan.connections;
    for (const c of this.conns) {
      c.leaving = true;
      c.close(1000);
    }
    const deadline = performance.now() + timeoutMs;
    while (this.conns.some((c) => c.state !== "closed") && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const c of this.conns) if (c.state !== "closed") c.destroy();
  }
}
