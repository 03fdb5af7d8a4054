/**
 * Every frame the server sends goes out here (the model is centrifuge's hub): per show, the topics
 * (one per wire protocol) and the published state (totals that never decrease within an epoch,
 * the frame seq, the time of the last totals frame, the cached welcomes); to one connection,
 * welcome, ack and error, in the connection's protocol.
 *
 * Guarantees:
 *  - A totals frame is serialized once per show per tick and protocol and published to that
 *    protocol's topic; uWS copies the same bytes to every subscriber (nothing here runs per
 *    subscriber). v1 frames are JSON (docs/protocol.md); v2 frames are binary, with the same seq,
 *    ts and totals (docs/protocol-v2.md, v2-show.ts). A tick with no v2 subscriber encodes no v2
 *    frame; the next one is then a keyframe.
 *  - Published totals never decrease within an epoch: each act's value is max(published, store),
 *    kept for every act seen this epoch, so an act removed and added back resumes where it was.
 *    Acts not in the current definition are not published (removed from the next frame on).
 *  - At least one totals frame per show in every `heartbeatMs` window while ticks run on time:
 *    a show with no change publishes as soon as the next publishing tick (one effective period
 *    later, with up to half of it of jitter) could fall outside the window.
 *  - Every totals frame carries the aligned tick instant as `ts` (the same on every worker and
 *    node for the same tick), the effective period `tickMs` and the fleet-wide audience
 *    `watching`; a change of the audience alone publishes a frame. The same rule, counted from the last v2 keyframe,
 *    makes at least one v2 keyframe per window (the frame is published even without a change).
 *  - `seq` grows by one per totals frame per show, across epochs.
 *  - A welcome is serialized once per (seq, stage, definition) and protocol, and shared by every
 *    hello until one of them changes.
 *  - Direct sends are corked (direct-send.ts).
 */
import type { CloseName } from "../../shared/codes.ts";
import { PROTOCOL_VERSION, type ShowFrame, type StageFrame, type Totals, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";
import { V2EncodeError } from "../../shared/v2/index.ts";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show, ShowChange } from "../shows/show.ts";
import { DirectSend, type Ws } from "./direct-send.ts";
import { ackFrame, errorFrame, type AckState } from "./frames.ts";
import { V2Show, v2Ack, v2Error } from "./v2-show.ts";
import { WireMetrics, type WireProtocol } from "./wire-metrics.ts";

/** The App's pub/sub, as the hub uses it. */
export interface Publisher {
  /** Sends one serialized frame to every subscriber of a topic (app.publish). */
  publish(topic: string, frame: string | Uint8Array, binary: boolean): void;
  /** Subscribers of a topic right now (app.numSubscribers). */
  subscribers(topic: string): number;
}

export interface HubOptions {
  /** TICK_MS, the base tick period (the welcome's `tickMs`; a frame names its period only when it differs). */
  tickMs: number;
  /** Longest gap between two totals frames of a show. */
  heartbeatMs: number;
  policy: "once" | "unlimited";
}

/** What a viewer sees of a show right now (the HTTP state, and the welcome). */
export interface LiveTotals {
  readonly seq: number;
  readonly totals: Readonly<Totals>;
  /** Viewers of the show, fleet-wide, as in the last totals frame (absent before the first). */
  readonly watching?: number;
}

/** What a totals frame carries besides the totals (counting/tick-loop.ts's PublishedTick). */
export interface TickStamp {
  /** The aligned tick instant: a multiple of TICK_MS. */
  readonly ts: number;
  /** The effective publish period (TICK_MS, or the mean gap between publishes while the overload control skips ticks): frames announce it as `tickMs`. */
  readonly publishPeriodMs: number;
  /** Viewers of the show, fleet-wide. */
  readonly watching: number;
}

interface Live {
  seq: number;
  /** Published totals: the acts of the current definition. */
  totals: Totals;
  /** Every act seen this epoch (including removed ones) -> highest total published or known. */
  best: Map<string, number>;
  lastPublishAt: number;
  /** A totals frame is due at the next tick whatever the store says (reset, definition edit). */
  due: boolean;
  /** Audience as last published (undefined before the first totals frame). */
  watching?: number;
  welcome: string | null;
  readonly v2: V2Show;
}

export class Hub {
  readonly wire: WireMetrics;
  private readonly live = new Map<string, Live>();
  private readonly direct: DirectSend;

  constructor(
    private readonly pub: Publisher,
    private readonly metrics: Metrics,
    private readonly opts: HubOptions,
    private readonly log: Logger,
  ) {
    this.wire = new WireMetrics(metrics);
    this.direct = new DirectSend(metrics);
  }

  // ------------------------------------------------------------------ topics

  /** The registry changed a show (or announced a new one): frames for its viewers. */
  showChanged(show: Show, changes: ReadonlySet<ShowChange>): void {
    let l = this.live.get(show.id);
    if (!l) {
      l = { seq: 0, totals: {}, best: new Map(), lastPublishAt: 0, due: false, welcome: null, v2: new V2Show(show.id) };
      this.live.set(show.id, l);
    }
    if (changes.has("epoch")) l.best.clear();
    if (changes.has("epoch") || changes.has("show")) {
      l.totals = {};
      for (const a of show.info.acts) l.totals[a.id] = l.best.get(a.id) ?? 0;
      l.due = true;
    }
    const v2 = l.v2;
    l.welcome = null;
    v2.welcome = null;
    if (changes.has("show") || changes.has("epoch")) {
      const f: ShowFrame = { type: "show", show: show.info, epoch: show.epoch };
      this.publishText(show.topic, JSON.stringify(f));
      this.publishV2(v2, () => v2.redefine(show));
      // v2 names the act on stage by its index in the table: a new table may move it, so the stage
      // is restated in the new table right after the show frame (clients never map an old index).
      if (!changes.has("stage")) this.publishV2(v2, () => v2.stageFrame(show));
    }
    if (changes.has("stage") || changes.has("schedule")) {
      // `next` announces a scheduled change; a frame without it after one had it: none pending now.
      const f: StageFrame = { type: "stage", act: show.stage.act, open: show.stage.open, ...(show.next ? { next: show.next } : {}) };
      this.publishText(show.topic, JSON.stringify(f));
      if (changes.has("stage")) this.publishV2(v2, () => v2.stageFrame(show));
    }
  }

  /** A v2 viewer of the show saw a gap: a keyframe goes out soon (rate-limited per show). */
  requestKeyframe(show: Show): void {
    this.live.get(show.id)?.v2.requestKeyframe();
  }

  /**
   * One tick's totals from the store for the show's current epoch (undefined: none this tick).
   * Publishes a totals frame when a total rose, the audience changed, a frame is due, or the
   * heartbeat window demands (counted with the effective period `at.publishPeriodMs`). The frame's `ts` is
   * the aligned tick instant, the same on every unit. Returns the deliveries (subscribers of the
   * frames published; 0 when none was).
   */
  totals(show: Show, fresh: ReadonlyMap<string, number> | undefined, at: TickStamp): number {
    const l = this.live.get(show.id);
    if (!l) return 0;
    const nowMs = at.ts;
    const heartbeatDueMs = Math.max(0, this.opts.heartbeatMs - at.publishPeriodMs * 1.5);
    let changed = l.due || l.watching !== at.watching;
    if (fresh) {
      for (const [act, v] of fresh) {
        if (v <= (l.best.get(act) ?? 0)) continue;
        l.best.set(act, v);
        if (show.hasAct(act)) {
          l.totals[act] = v;
          changed = true;
        }
      }
    }
    if (!changed && nowMs - l.lastPublishAt < heartbeatDueMs && !l.v2.keyframeDue(nowMs, heartbeatDueMs)) return 0;
    l.seq++;
    l.lastPublishAt = nowMs;
    l.due = false;
    l.watching = at.watching;
    l.welcome = null;
    l.v2.welcome = null;
    const frame: TotalsFrame = {
      type: "totals",
      show: show.id,
      epoch: show.epoch,
      seq: l.seq,
      ts: nowMs,
      totals: l.totals,
      tickMs: at.publishPeriodMs,
      watching: at.watching,
    };
    this.publishText(show.topic, JSON.stringify(frame));
    this.metrics.framesPublished++;
    this.v2Totals(l, at, heartbeatDueMs);
    return this.localWatching(show);
  }

  /** The v2 frame of this tick: one encode for every v2 subscriber, none when there is none. */
  private v2Totals(l: Live, at: TickStamp, heartbeatDueMs: number): void {
    const v2 = l.v2;
    if (this.pub.subscribers(v2.topic) === 0) return v2.skipFrame(at.ts);
    // Tag 1 only when the period differs from the welcome's (absent: the welcome's tickMs).
    const ext = { tickMs: at.publishPeriodMs === this.opts.tickMs ? undefined : at.publishPeriodMs, watching: at.watching };
    let bytes: Uint8Array;
    try {
      bytes = v2.totalsFrame(l.seq, at.ts, l.totals, heartbeatDueMs, ext);
    } catch (err) {
      // A total went down within an epoch: a hub bug. Counted, logged; the retry is a keyframe.
      this.encodeFailed(err, v2);
      bytes = v2.totalsFrame(l.seq, at.ts, l.totals, heartbeatDueMs, ext);
    }
    this.publishBinary(v2.topic, bytes);
  }

  /** Seq, totals and audience as last published (zero totals for a show not announced yet). */
  snapshot(show: Show): LiveTotals {
    const l = this.live.get(show.id);
    return l ?? { seq: 0, totals: Object.fromEntries(show.info.acts.map((a) => [a.id, 0])) };
  }

  /** Connections of this App that said hello to the show (its subscribers, both protocols). */
  localWatching(show: Show): number {
    const l = this.live.get(show.id);
    return l ? this.pub.subscribers(show.topic) + this.pub.subscribers(l.v2.topic) : 0;
  }

  // ------------------------------------------------------------------ one connection

  /**
   * Subscribe first (to the topic of the connection's protocol), then send the snapshot: every
   * later totals frame reaches this socket.
   */
  join(ws: Ws, show: Show, protocol: WireProtocol): void {
    let l = this.live.get(show.id);
    if (!l) {
      this.showChanged(show, new Set(["show", "stage", "epoch"])); // never announced: start its state now
      l = this.live.get(show.id)!;
    }
    if (protocol === 2) {
      ws.subscribe(l.v2.topic);
      return this.direct.corked(
        ws,
        (l.v2.welcome ??= l.v2.welcomeFrame(show, l.seq, l.totals, this.opts.tickMs, this.opts.policy, l.watching)),
      );
    }
    ws.subscribe(show.topic);
    this.direct.corked(ws, (l.welcome ??= this.welcome(show, l)));
  }

  /** The connection's cumulative ack. */
  ack(ws: Ws, a: AckState, protocol: WireProtocol): void {
    this.direct.corked(ws, protocol === 2 ? v2Ack(a) : ackFrame(a));
  }

  /** Error frame (with `retryAfterMs`: when to come back), then close with the table's code, in one corked write. */
  close(ws: Ws, name: CloseName, message: string, protocol: WireProtocol, retryAfterMs?: number): void {
    const frame = protocol === 2 ? v2Error(name, message, retryAfterMs) : errorFrame(name, message, retryAfterMs);
    this.direct.closeWith(ws, name, frame);
  }

  private welcome(show: Show, l: Live): string {
    const w: Welcome = {
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      show: show.info,
      stage: show.stage,
      tickMs: this.opts.tickMs,
      epoch: show.epoch,
      seq: l.seq,
      totals: l.totals,
      policy: this.opts.policy,
      ...(show.next ? { next: show.next } : {}),
      ...(l.watching === undefined ? {} : { watching: l.watching }),
    };
    return JSON.stringify(w);
  }

  private publishText(topic: string, frame: string): void {
    this.pub.publish(topic, frame, false);
    this.wire.published(1, Buffer.byteLength(frame), this.pub.subscribers(topic));
  }

  private publishBinary(topic: string, frame: Uint8Array): void {
    this.pub.publish(topic, frame, true);
    this.wire.published(2, frame.length, this.pub.subscribers(topic));
  }

  /** Publishes a v2 show/stage frame built by `frame` (always built: it also updates the v2 state). */
  private publishV2(v2: V2Show, frame: () => Uint8Array): void {
    let bytes: Uint8Array;
    try {
      bytes = frame();
    } catch (err) {
      return this.encodeFailed(err, v2);
    }
    this.publishBinary(v2.topic, bytes);
  }

  private encodeFailed(err: unknown, v2: V2Show): void {
    if (!(err instanceof V2EncodeError)) throw err;
    this.wire.v2EncodeErrors++;
    this.log.error("v2 frame not encodable; v2 viewers get a keyframe instead", { err, topic: v2.topic });
  }
}
