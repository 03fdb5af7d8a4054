/**
 * Buzzes per second for one act, derived from its running total as totals frames arrive.
 * Pure logic (time is a parameter). A new key (another act on stage, or a new epoch) starts the
 * series afresh, so a reset never shows as a negative rate. Keeps `windowSec` one-second buckets.
 */
export class RateSeries {
  #key: string | null = null;
  #last = 0;
  readonly #buckets = new Map<number, number>();

  constructor(readonly windowSec = 60) {}

  get key(): string | null {
    return this.#key;
  }

  observe(key: string, total: number, nowMs: number): void {
    if (key !== this.#key) {
      this.#key = key;
      this.#last = total;
      this.#buckets.clear();
      return;
    }
    const d = total - this.#last;
    if (d <= 0) return; // totals never go down within an epoch; nothing new to count
    this.#last = total;
    const sec = Math.floor(nowMs / 1000);
    this.#buckets.set(sec, (this.#buckets.get(sec) ?? 0) + d);
    for (const s of this.#buckets.keys()) if (s <= sec - this.windowSec) this.#buckets.delete(s);
  }

  /** [unix seconds, buzzes in that second] for the last `windowSec` seconds ending now. */
  series(nowMs: number): [number[], number[]] {
    const end = Math.floor(nowMs / 1000);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let s = end - this.windowSec + 1; s <= end; s++) {
      xs.push(s);
      ys.push(this.#buckets.get(s) ?? 0);
    }
    return [xs, ys];
  }
}
