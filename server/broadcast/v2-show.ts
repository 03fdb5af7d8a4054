/**
 * The v2 side of one show's published state: its topic (v2 subscribers only), the TotalsEncoder
 * (the totals of the last v2 frame, nothing per subscriber), the act table (index -> act id) and
 * the welcome cache. The hub owns one per show and drives it; every method runs once per show per
 * event (tick, change, welcome), never per subscriber.
 *
 * Guarantees (with the hub's):
 *  - A v2 totals frame carries the same seq and ts as the v1 totals frame of the same tick, and
 *    the same totals (in act-table order).
 *  - The show frame is published before the encoder learns the new table, so the first totals
 *    frame after it is a keyframe of the new table.
 *  - A keyframe goes out at least every `keyframeEveryMs` of the hub's clock (the hub publishes a
 *    frame when one is due), on the first frame, after a table or epoch change, after a skipped
 *    tick, and at most every KEYFRAME_REQUEST_GAP_MS for keyframe requests.
 */
import { CLOSE, type CloseName } from "../../shared/codes.ts";
import type { Totals } from "../../shared/protocol.ts";
import {
  FRAME,
  TotalsEncoder,
  encodeServerFrame,
  epochId,
  type V2Ack,
  type V2ShowFrame,
  type V2Stage,
  type V2Welcome,
} from "../../shared/v2/index.ts";
import type { Show } from "../shows/show.ts";
import type { AckState } from "./frames.ts";

/** A keyframe request is honoured at most this often per show (a misbehaving client cannot make
 *  every frame a keyframe; a gap lasts at most this long plus a tick). */
export const KEYFRAME_REQUEST_GAP_MS = 250;

/** Optional fields of a v2 totals frame (extension tags 1 and 2). */
export interface V2TotalsExtras {
  tickMs?: number | undefined;
  watching?: number | undefined;
}

export class V2Show {
  readonly topic: string;
  /** Act table: index i in v2 frames is actIds[i]. */
  actIds: readonly string[] = [];
  epoch = "";
  epochId = 0;
  welcome: Uint8Array | null = null;
  /** Hub clock of the last keyframe (or of a tick skipped for want of subscribers). */
  lastKeyAt = -Infinity;
  private keyRequested = false;
  private encoder = new TotalsEncoder();
  /** Audience in the last v2 frame that carried it, and when (hub clock). */
  private sentWatching = -1;
  private sentWatchingAt = -Infinity;

  constructor(showId: string) {
    this.topic = `show/${showId}/v2`;
  }

  /**
   * Takes the show's current act table and epoch; returns the `show` frame announcing them, which
   * the hub publishes before any totals frame of the new table.
   */
  redefine(show: Show): Uint8Array {
    this.actIds = show.info.acts.map((a) => a.id);
    if (show.epoch !== this.epoch) {
      this.epoch = show.epoch;
      this.epochId = epochId(show.epoch);
    }
    this.welcome = null;
    this.encoder.setTable(this.actIds, this.epoch); // the next totals frame is a keyframe of this table
    const f: V2ShowFrame = { type: "show", show: show.info, epoch: this.epoch, epochId: this.epochId };
    return encodeServerFrame(f);
  }

  stageFrame(show: Show): Uint8Array {
    this.welcome = null;
    return encodeServerFrame({ type: "stage", ...this.stage(show) });
  }

  /** A client asked for a keyframe (it saw a gap). */
  requestKeyframe(): void {
    this.keyRequested = true;
  }

  /** True when this tick must publish a frame for v2's sake (keyframe due or requested). */
  keyframeDue(nowMs: number, everyMs: number): boolean {
    const since = nowMs - this.lastKeyAt;
    return since >= everyMs || (this.keyRequested && since >= KEYFRAME_REQUEST_GAP_MS);
  }

  /**
   * Nobody listens on v2 this tick: nothing is encoded. The next frame is a keyframe (the encoder
   * also sees the seq jump); a viewer joining meanwhile starts from its welcome.
   */
  skipFrame(nowMs: number): void {
    this.encoder.requestKeyframe();
    this.keyRequested = false;
    this.lastKeyAt = nowMs;
  }

  /**
   * This tick's totals frame. Throws V2EncodeError only if a total decreased within the epoch (a
   * hub bug): the encoder is then replaced, so the next call (the caller retries) is a keyframe.
   * Extensions: `tickMs` (tag 1) when the hub gives one (the period differs from the welcome's);
   * `watching` (tag 2) when it changed since the last frame that carried it, and at least once
   * every `everyMs` (a client keeps the last value it saw).
   */
  totalsFrame(seq: number, nowMs: number, totals: Readonly<Totals>, everyMs: number, ext: V2TotalsExtras = {}): Uint8Array {
    if (this.keyframeDue(nowMs, everyMs)) this.encoder.requestKeyframe();
    const w = ext.watching;
    const watching = w !== undefined && (w !== this.sentWatching || nowMs - this.sentWatchingAt >= everyMs) ? w : undefined;
    try {
      const bytes = this.encoder.encode({
        seq,
        ts: nowMs,
        totals,
        ...(ext.tickMs === undefined ? {} : { tickMs: ext.tickMs }),
        ...(watching === undefined ? {} : { watching }),
      });
      if (watching !== undefined) {
        this.sentWatching = watching;
        this.sentWatchingAt = nowMs;
      }
      return this.sent(bytes, nowMs);
    } catch (err) {
      this.encoder = new TotalsEncoder();
      this.encoder.setTable(this.actIds, this.epoch);
      throw err;
    }
  }

  welcomeFrame(
    show: Show,
    seq: number,
    totals: Readonly<Totals>,
    tickMs: number,
    policy: "once" | "unlimited",
    watching?: number,
  ): Uint8Array {
    const w: V2Welcome = {
      type: "welcome",
      show: show.info,
      epoch: this.epoch,
      epochId: this.epochId,
      seq,
      tickMs,
      policy,
      stage: this.stage(show),
      totals: this.actIds.map((id) => totals[id] ?? 0),
      ...(watching === undefined ? {} : { watching }),
    };
    return encodeServerFrame(w);
  }

  private sent(bytes: Uint8Array, nowMs: number): Uint8Array {
    if (bytes[0] === FRAME.keyframe) {
      this.lastKeyAt = nowMs;
      this.keyRequested = false;
    }
    return bytes;
  }

  private stage(show: Show): V2Stage {
    const act = show.stage.act === null ? -1 : this.actIds.indexOf(show.stage.act);
    return { act: act < 0 ? null : act, open: show.stage.open };
  }
}

/** The v2 ack of a connection's cumulative counters. */
export function v2Ack(a: AckState): Uint8Array {
  const f: V2Ack = { type: "ack", seq: a.lastSeq, counted: a.counted, rejected: a.rejected, last: a.last };
  return encodeServerFrame(f);
}

/** The v2 error frame sent before a close: the numeric close code of `name`. */
export function v2Error(name: CloseName, message: string, retryAfterMs?: number): Uint8Array {
  const close = CLOSE[name].code;
  return encodeServerFrame(
    retryAfterMs === undefined ? { type: "error", close, message } : { type: "error", close, message, retryAfterMs },
  );
}
