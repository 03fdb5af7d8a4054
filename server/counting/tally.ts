/**
 * Per-act buzz counters of one show epoch, held in memory between ticks, and the epoch's new `once`
 * claims waiting for the store.
 *
 * Guarantees: counting a buzz is a single property increment on its slot (`slot.pending++`, the
 * per-buzz cost); `drain` hands every non-zero delta to the caller exactly once and zeroes it, so a
 * buzz is in exactly one drained batch; `drainClaims` does the same for claims. Deltas not yet
 * drained are lost only if the process dies (bounded by one tick). Slots are stable for the tally's
 * life: the act table holds them directly. With `auditViewers`, each slot also counts per viewer
 * (one Map update per counted buzz) and `drain` hands those counts over with the delta.
 */
import type { Claim, Delta } from "../store/store.ts";
import type { Buzzer } from "./buzz-intake.ts";

export interface TallySlot {
  readonly act: string;
  pending: number;
  /** viewer key -> buzzes since the last drain; null unless the tally audits viewers. */
  viewers: Map<string, number> | null;
}

/** A claim as counting tracks it: whose ack waits for it, and which buzz it was. */
export interface ClaimTicket extends Claim {
  readonly buzzer: Buzzer;
  readonly seq: number;
}

export class Tally {
  private readonly slots = new Map<string, TallySlot>();
  private claims: ClaimTicket[] = [];

  constructor(
    readonly show: string,
    readonly epoch: string,
    private readonly auditViewers = false,
  ) {}

  /** The slot for an act, created on first use. */
  slot(act: string): TallySlot {
    let s = this.slots.get(act);
    if (!s) {
      s = { act, pending: 0, viewers: this.auditViewers ? new Map() : null };
      this.slots.set(act, s);
    }
    return s;
  }

  /** A new `once` claim for the store to decide. */
  claim(t: ClaimTicket): void {
    this.claims.push(t);
  }

  /** Take every non-zero delta, in act order, and reset them to zero. */
  drain(): Delta[] {
    const out: Delta[] = [];
    for (const s of this.slots.values()) {
      if (s.pending !== 0) {
        if (s.viewers !== null) {
          out.push({ act: s.act, delta: s.pending, viewers: s.viewers });
          s.viewers = new Map();
        } else out.push({ act: s.act, delta: s.pending });
        s.pending = 0;
      }
    }
    out.sort((a, b) => (a.act < b.act ? -1 : a.act > b.act ? 1 : 0));
    return out;
  }

  /** Take the claims made since the last call. */
  drainClaims(): ClaimTicket[] {
    const c = this.claims;
    if (c.length > 0) this.claims = [];
    return c;
  }
}
