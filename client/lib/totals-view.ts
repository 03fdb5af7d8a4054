/**
 * The totals a client shows, kept consistent across reordered, stale and reconnect-spanning frames.
 * Guarantees (pure logic, unit-tested):
 *  - Within one epoch no act's total ever decreases, whatever order frames or snapshots arrive in
 *    (a stale frame - `seq` not above the last applied one - is dropped; each act keeps the larger of
 *    the shown and the received value).
 *  - A new epoch (producer reset, or a server that started a new one) replaces everything, and frames
 *    of an epoch that was replaced are dropped from then on (the last 16 retired epochs are kept).
 *  - A snapshot (`welcome`) re-bases `seq` (a new connection, possibly to another node, has its own
 *    sequence), so frames that follow it apply even if their seq is below the old connection's.
 */
import type { Totals } from "./protocol-types.ts";

const RETIRED_KEEP = 16;

export class TotalsView {
  #epoch: string | null = null;
  /** Last applied seq in this epoch; -1 = none yet (every frame of the epoch applies). */
  #seq = -1;
  #totals: Totals = {};
  readonly #retired: string[] = [];

  get epoch(): string | null {
    return this.#epoch;
  }
  get seq(): number {
    return this.#seq;
  }
  /** A read-only copy of the current totals (act id -> count). */
  get totals(): Readonly<Totals> {
    return { ...this.#totals };
  }
  total(act: string): number {
    return this.#totals[act] ?? 0;
  }

  /** The snapshot of a (re)connection. Returns false only for a snapshot of a retired epoch. */
  applySnapshot(epoch: string, seq: number, totals: Totals): boolean {
    if (this.#retired.includes(epoch)) return false;
    if (epoch !== this.#epoch) {
      this.#replace(epoch, seq, totals);
      return true;
    }
    this.#seq = seq;
    this.#mergeMax(totals);
    return true;
  }

  /** A `totals` frame. Returns whether it was applied (false = stale or of a retired epoch). */
  applyFrame(epoch: string, seq: number, totals: Totals): boolean {
    if (this.#retired.includes(epoch)) return false;
    if (epoch !== this.#epoch) {
      this.#replace(epoch, seq, totals);
      return true;
    }
    if (seq <= this.#seq) return false;
    this.#seq = seq;
    this.#mergeMax(totals);
    return true;
  }

  /** A `show` frame announcing `epoch`. Returns true if it started a new epoch (totals now empty). */
  applyEpoch(epoch: string): boolean {
    if (epoch === this.#epoch || this.#retired.includes(epoch)) return false;
    this.#replace(epoch, -1, {});
    return true;
  }

  #replace(epoch: string, seq: number, totals: Totals): void {
    if (this.#epoch !== null) {
      this.#retired.push(this.#epoch);
      if (this.#retired.length > RETIRED_KEEP) this.#retired.shift();
    }
    this.#epoch = epoch;
    this.#seq = seq;
    this.#totals = { ...totals };
  }

  #mergeMax(totals: Totals): void {
    for (const [act, n] of Object.entries(totals)) {
      const cur = this.#totals[act];
      if (cur === undefined || n > cur) this.#totals[act] = n;
    }
  }
}
