/**
 * The client side of totals: applies welcome, show, keyframe and delta frames onto one full state.
 *
 * Guarantees:
 *  - A delta is applied only onto the state of the frame numbered seq - 1 in the same epoch; any
 *    other delta is dropped ("stale" when seq is not newer, else a gap: "gap" once, then "waiting"
 *    until a keyframe). On "gap" the client should send a keyframe_request (one per gap).
 *  - Within an epoch no total ever decreases: each act shows max(shown, received). Decreases seen
 *    on the wire are counted in `decreasesIgnored` (a server bug worth reporting, not a crash).
 *  - A frame from another epoch (a reset) is taken as is, like v1's rule; a welcome after a
 *    reconnect replaces everything, keeping per-act maxima when the epoch is the same.
 */
import type { V2Act, V2ShowFrame, V2TotalsFrame, V2Welcome } from "./frames.ts";

export type TrackResult = "applied" | "stale" | "gap" | "waiting";

export class TotalsTracker {
  #acts: V2Act[] = [];
  #values: number[] = [];
  #epoch: string | null = null;
  #epochId = -1;
  #seq = -1;
  #started = false;
  /** "gap": a delta could not be applied; "table": a show frame changed the table. Either way only a
   *  keyframe can resume; only "gap" is worth a keyframe_request (the server sends a keyframe after
   *  every table change by itself). */
  #waiting: "none" | "gap" | "table" = "none";
  decreasesIgnored = 0;

  get needKeyframe(): boolean {
    return this.#waiting !== "none";
  }
  get actCount(): number {
    return this.#acts.length;
  }
  get seq(): number {
    return this.#seq;
  }
  /** The epoch string, or null after a reset keyframe arrived before the show frame naming it. */
  get epoch(): string | null {
    return this.#epoch;
  }
  get epochId(): number {
    return this.#epochId;
  }

  /** act id -> total, v1's shape. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.#acts.length; i++) out[this.#acts[i]!.id] = this.#values[i]!;
    return out;
  }

  welcome(w: V2Welcome): void {
    const sameEpoch = this.#started && w.epoch === this.#epoch;
    const before = sameEpoch ? this.snapshot() : {};
    this.#acts = w.show.acts.map((a) => ({ ...a }));
    this.#values = w.totals.map((v, i) => this.#keepMax(before[w.show.acts[i]!.id] ?? 0, v));
    this.#epoch = w.epoch;
    this.#epochId = w.epochId;
    this.#seq = w.seq;
    this.#started = true;
    this.#waiting = "none";
  }

  show(s: V2ShowFrame): void {
    if (!this.#started) return; // nothing to carry over; the welcome will bring the table
    const before = s.epoch === this.#epoch ? this.snapshot() : {};
    this.#acts = s.show.acts.map((a) => ({ ...a }));
    this.#values = this.#acts.map((a) => before[a.id] ?? 0);
    this.#epoch = s.epoch;
    this.#epochId = s.epochId;
    if (this.#waiting !== "gap") this.#waiting = "table";
  }

  totals(f: V2TotalsFrame): TrackResult {
    if (!this.#started) return "waiting";
    return f.type === "keyframe" ? this.#keyframe(f.epochId, f.seq, f.totals) : this.#delta(f.epochId, f.seq, f.changes);
  }

  #keyframe(id: number, seq: number, totals: readonly number[]): TrackResult {
    if (totals.length !== this.#acts.length) return this.#gap(); // a show frame was missed
    if (id === this.#epochId) {
      if (seq <= this.#seq && this.#waiting === "none") return "stale";
      for (let i = 0; i < totals.length; i++) this.#values[i] = this.#keepMax(this.#values[i]!, totals[i]!);
    } else {
      this.#values = totals.slice();
      this.#epochId = id;
      this.#epoch = null;
    }
    this.#seq = seq;
    this.#waiting = "none";
    return "applied";
  }

  #delta(id: number, seq: number, changes: ReadonlyArray<readonly [number, number]>): TrackResult {
    if (this.#waiting !== "none") return "waiting";
    if (id !== this.#epochId) return this.#gap();
    if (seq <= this.#seq) return "stale";
    if (seq !== this.#seq + 1) return this.#gap();
    for (const [i] of changes) if (!(i < this.#acts.length)) return this.#gap();
    for (const [i, v] of changes) this.#values[i] = this.#keepMax(this.#values[i]!, v);
    this.#seq = seq;
    return "applied";
  }

  #gap(): TrackResult {
    if (this.#waiting === "gap") return "waiting";
    this.#waiting = "gap";
    return "gap";
  }

  #keepMax(shown: number, received: number): number {
    if (received >= shown) return received;
    this.decreasesIgnored++;
    return shown;
  }
}
