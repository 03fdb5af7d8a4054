/**
 * The generator's reading of protocol v2 frames, for one worker's audience. Totals frames (one per
 * tick per connection: the hot path) are scanned in place (v2-scan.ts) for seq and ts; only the
 * reference connection's frames are applied to whole totals, once per tick. Welcome, show, ack and
 * error frames are rare and decoded in full by the shared codec. The act table and the epoch
 * strings are per show, so they are kept once per worker, not per connection.
 */
import { closeName } from "../../shared/codes.ts";
import { FRAME, decodeServerFrame, type V2ServerFrame } from "../../shared/v2/index.ts";
import type { Audience } from "./audience.ts";
import type { BenchConnection } from "./bench-connection.ts";
import { isTotalsFrame, readTotalsHead, v2ActTotal, type TotalsHead } from "./v2-scan.ts";

const now = (): number => performance.timeOrigin + performance.now();

export class V2Reader {
  /** Act ids by index, from the latest welcome or show frame. */
  acts: string[] = [];
  private readonly epochs = new Map<number, string>();
  private readonly head: TotalsHead = { epochId: 0, seq: 0, ts: 0, next: 0 };
  /** Whole totals as the reference connection last saw them (null until a keyframe). */
  private ref: { epochId: number; totals: number[] } | null = null;

  constructor(private readonly a: Audience) {}

  message(c: BenchConnection, data: Buffer, start: number, end: number): void {
    const type = data[start];
    if (isTotalsFrame(type)) return this.totals(c, data, start, end);
    if (type === FRAME.stage) return; // the bench reads the stage over HTTP
    let f: V2ServerFrame;
    try {
      f = decodeServerFrame(data.subarray(start, end));
    } catch (err) {
      this.a.bump(`bad-v2-frame:${(err as { reason?: string }).reason ?? "?"}`);
      return type === FRAME.welcome ? this.a.badWelcome(c) : undefined;
    }
    switch (f.type) {
      case "welcome":
        this.table(f.show.acts, f.epochId, f.epoch);
        return this.a.welcomed(c, f.epoch, f.seq);
      case "show":
        this.ref = null; // the next keyframe carries the new table
        return this.table(f.show.acts, f.epochId, f.epoch);
      case "ack":
        return this.a.acked(
          c,
          f.counted,
          Object.values(f.rejected).reduce((x, y) => x + y, 0),
        );
      case "error":
        return this.a.bump(`error:${closeName(f.close) ?? f.close}`);
      default:
        return;
    }
  }

  private table(acts: Array<{ id: string }>, epochId: number, epoch: string): void {
    this.acts = acts.map((x) => x.id);
    this.epochs.set(epochId, epoch);
  }

  private totals(c: BenchConnection, data: Buffer, start: number, end: number): void {
    const t = now();
    const h = readTotalsHead(data, start, end, this.head);
    const role = this.a.totalsFrame(c, h.seq, h.ts, t);
    if (role === "sender") return;
    const tracker = this.a.tracker;
    if (tracker !== null && this.a.observers.has(c.id)) {
      const total = v2ActTotal(data, start, end, h, this.acts.indexOf(tracker.act));
      if (!Number.isNaN(total)) tracker.observed(c.id, total, t);
    }
    if (role === "reference") this.reference(data, start, end, h.seq);
  }

  /** One full decode per tick: the runner's epoch and per-act totals. */
  private reference(data: Buffer, start: number, end: number, seq: number): void {
    let f: V2ServerFrame;
    try {
      f = decodeServerFrame(data.subarray(start, end));
    } catch {
      return this.a.bump("bad-totals");
    }
    if (f.type === "keyframe") this.ref = { epochId: f.epochId, totals: f.totals.slice() };
    else if (f.type === "delta" && this.ref !== null && this.ref.epochId === f.epochId) {
      for (const [i, v] of f.changes) this.ref.totals[i] = v;
    } else return; // a delta before any keyframe, or across epochs: wait for the next keyframe
    const epoch = this.epochs.get(this.ref.epochId);
    if (epoch === undefined || this.ref.totals.length !== this.acts.length) return;
    const byAct: Record<string, number> = {};
    let sum = 0;
    this.acts.forEach((id, i) => {
      byAct[id] = this.ref!.totals[i]!;
      sum += this.ref!.totals[i]!;
    });
    this.a.lastTotals = { epoch, seq, sum, byAct };
  }
}
