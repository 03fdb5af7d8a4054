/**
 * Buzz -> visible-to-others latency. The k-th buzz this process sends for an act (after tracking
 * starts) becomes visible to an observer when that observer receives a totals frame whose total for
 * the act is >= base + k. Matching is first-in first-out: it assumes the server counts this
 * process's buzzes in the order they were written. They travel on different connections, so the
 * server may count a few out of order within one read cycle; the error is bounded by that
 * reordering window (microseconds to a few ms), small against a 100 ms tick.
 * Exact only when this process is the only sender for the act (the show scenario ensures it).
 */
import { type Histogram, recordMs } from "../stats/histogram.ts";

export class VisibilityTracker {
  private sendTimes = new Float64Array(1024);
  private sent = 0;
  /** Observer id -> buzzes (since tracking started) that observer has already seen. */
  private seen = new Map<number, number>();

  constructor(
    readonly act: string,
    private readonly base: number,
    private readonly hist: Histogram,
  ) {}

  /** Records that buzz number `sent + 1` was written at `tMs` (performance.timeOrigin-based ms). */
  sentAt(tMs: number): void {
    if (this.sent === this.sendTimes.length) {
      const bigger = new Float64Array(this.sendTimes.length * 2);
      bigger.set(this.sendTimes);
      this.sendTimes = bigger;
    }
    this.sendTimes[this.sent++] = tMs;
  }

  get buzzesTracked(): number {
    return this.sent;
  }

  /** An observer saw `total` for the act at `tMs`: records one latency per newly visible buzz. */
  observed(observer: number, total: number, tMs: number): void {
    const visible = Math.min(total - this.base, this.sent);
    const before = this.seen.get(observer) ?? 0;
    if (visible <= before) return;
    for (let k = before; k < visible; k++) recordMs(this.hist, tMs - this.sendTimes[k]!);
    this.seen.set(observer, visible);
  }
}
