/**
 * Per-act buzz counters of one show epoch, held in memory between ticks.
 *
 * Guarantees: counting a buzz is a single property increment on its slot (`slot.pending++`, the
 * per-buzz cost); `drain` hands every non-zero delta to the caller exactly once and zeroes it, so a
 * buzz is in exactly one drained batch. Deltas not yet drained are lost only if the process dies
 * (bounded by one tick). Slots are stable for the tally's life: the act table holds them directly.
 */
import type { Delta } from "../store/store.ts";

export interface TallySlot {
  readonly act: string;
  pending: number;
}

export class Tally {
  private readonly slots = new Map<string, TallySlot>();

  constructor(
    readonly show: string,
    readonly epoch: string,
  ) {}

  /** The slot for an act, created on first use. */
  slot(act: string): TallySlot {
    let s = this.slots.get(act);
    if (!s) {
      s = { act, pending: 0 };
      this.slots.set(act, s);
    }
    return s;
  }

  /** Take every non-zero delta, in act order, and reset them to zero. */
  drain(): Delta[] {
    const out: Delta[] = [];
    for (const s of this.slots.values()) {
      if (s.pending !== 0) {
        out.push({ act: s.act, delta: s.pending });
        s.pending = 0;
      }
    }
    out.sort((a, b) => (a.act < b.act ? -1 : a.act > b.act ? 1 : 0));
    return out;
  }
}
