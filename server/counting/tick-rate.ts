/**
 * Overload control of one unit's publishing: when the tick's own work (acks, flush,
 * totals read and publish, measured in this thread's CPU time where the OS tells it, work-clock.ts,
 * so waiting for a core another process holds is not work) takes more than its allowance of the
 * period, the unit publishes on every second aligned tick, then every fourth..., instead of falling
 * behind; it returns to full rate, one halving at a time, once the load drops.
 *
 * The allowance is `budgetPct` while the thread is busy (its CPU time over the period, tick work
 * and everything else: buzzes, connects, HTTP, at least `idlePct` of it), which leaves the rest
 * of the thread to that other work. While the thread still idles (busy under `idlePct`) nothing
 * else wants the share the budget reserves: the tick may then take up to `idlePct` of the period
 * (measured: at 15,000 subscribers and nothing else to do, a publish costs ~130% of a 100 ms
 * period; with the budget alone the unit published every 4th tick with the thread half idle).
 * Without the thread's busy time (a wall clock), the allowance is the budget.
 *
 * Guarantees:
 *  - Flushing is never slowed: deltas and acks go every tick whatever the factor; only reading
 *    and publishing totals are spaced out.
 *  - Publishing ticks are the multiples of the factor (k % factor === 0): aligned instants that
 *    every unit at full rate also publishes on, so the screens of a degraded unit still change
 *    together with the others, every factor-th time.
 *  - The effective period never exceeds `maxPeriodMs` (default 1 s: the heartbeat and audience
 *    guarantees hold at any factor).
 *  - Hysteresis: up after 2 consecutive periods over budget; down after periods under 40% of the
 *    budget for at least 1 s. At 40% the halved period costs at most 80% of the budget, so the
 *    rate does not oscillate under a steady load.
 *  - A publish less than half a tick of wall time after the previous one (a late thread running a
 *    tick's publish and the next tick's in one turn) does not end a period: its work joins the
 *    period in progress (`open` says so, and the caller keeps measuring from the period's start).
 *    Judged alone, that near-empty period read as 0 and reset the count of periods over, so a
 *    thread late at every publish (measured: 15,000 subscribers on a busy box) was never slowed.
 */

export interface TickRateOptions {
  tickMs: number;
  /** Share of the effective period the tick's work may take, in percent (1-100). */
  budgetPct: number;
  /** Longest effective period (default 1000 ms, and never less than one tick). */
  maxPeriodMs?: number;
  /**
   * TICK_IDLE_PCT (default SATURATED x 100): the thread counts as busy from this share of the period
   * on, and while it is not, the tick may take this share. At or below `budgetPct`: the budget alone.
   */
  idlePct?: number;
}

const UP_AFTER = 2;
/** Default busy share of the thread from which the budget alone applies, and the most the tick may take (TICK_IDLE_PCT). */
export const SATURATED = 0.9;
const DOWN_BELOW = 0.4;
/** Back up only when the halved period would take at most this share of what it may take. */
const DOWN_FILL = 2 * DOWN_BELOW;
const DOWN_AFTER_MS = 1000;

export class TickRate {
  /** Publish on every factor-th aligned tick; a power of two. */
  factor = 1;
  readonly maxFactor: number;
  /** Times the factor changed (up or down), for metrics. */
  changes = 0;
  /** Work ratio of the last completed period (work / period), for metrics. */
  lastRatio = 0;
  /** The allowance that period was held to (the budget, or `idlePct` while the thread idled). */
  lastAllowance = 0;
  /** The last `published` did not end the period (a catch-up publish): measure on from its start. */
  open = false;
  private workMs = 0;
  private ticks = 0;
  private over = 0;
  private underMs = 0;
  private readonly budget: number;
  private readonly saturated: number;

  constructor(private readonly opts: TickRateOptions) {
    this.budget = opts.budgetPct / 100;
    this.saturated = (opts.idlePct ?? SATURATED * 100) / 100;
    let f = 1;
    while (f * 2 * opts.tickMs <= (opts.maxPeriodMs ?? 1000)) f *= 2;
    this.maxFactor = f;
  }

  /** The effective period: what totals frames announce as `tickMs`. */
  get periodMs(): number {
    return this.opts.tickMs * this.factor;
  }

  /** Whether tick k reads and publishes totals. */
  publishes(tick: number): boolean {
    return tick % this.factor === 0;
  }

  /** One tick's flush phase ran; `ms` of work. */
  flushed(ms: number): void {
    this.ticks++;
    this.workMs += ms;
  }

  /** Work done outside the phases' own turns (a publish after an asynchronous flush). */
  worked(ms: number): void {
    this.workMs += ms;
  }

  /**
   * A publishing tick finished (`ms` of publish work): the period ends here, unless it lasted under
   * half a tick (`open`). `busyMs`: the thread's CPU time over the period, all work included
   * (absent: the budget alone applies); `elapsedMs`: the period's wall time (absent: its ticks x
   * TICK_MS). Returns the change made: +1 slowed down, -1 back up, 0 none.
   */
  published(ms: number, busyMs?: number, elapsedMs?: number): -1 | 0 | 1 {
    this.workMs += ms;
    this.open = elapsedMs !== undefined && elapsedMs < this.opts.tickMs / 2;
    if (this.open) return 0;
    // The wall time the period really lasted when known: ticks a thread waiting for a core missed
    // (they are not replayed) do not shrink the period, so that wait is not taken for work either.
    const periodMs = Math.max(this.ticks * this.opts.tickMs, elapsedMs ?? 0);
    const ratio = this.ticks === 0 ? 0 : this.workMs / periodMs;
    const busy = busyMs === undefined || this.ticks === 0 ? 1 : busyMs / periodMs;
    const allowance = busy < this.saturated ? Math.max(this.budget, this.saturated) : this.budget;
    this.lastRatio = ratio;
    this.lastAllowance = allowance;
    this.workMs = 0;
    this.ticks = 0;
    if (ratio > allowance) {
      this.underMs = 0;
      if (++this.over >= UP_AFTER && this.factor < this.maxFactor) return this.change(this.factor * 2, 1);
      return 0;
    }
    this.over = 0;
    // Back up when the halved period would still fit: its work (twice this) at most 80% of the
    // allowance, and with the thread's other work, under SATURATED.
    const other = Math.max(0, busy - ratio);
    const fitsHalved = allowance > this.budget ? 2 * ratio + other < allowance * DOWN_FILL : ratio < this.budget * DOWN_BELOW;
    if (fitsHalved && this.factor > 1) {
      this.underMs += periodMs;
      if (this.underMs >= DOWN_AFTER_MS) return this.change(this.factor / 2, -1);
    } else this.underMs = 0;
    return 0;
  }

  private change(factor: number, dir: -1 | 1): -1 | 1 {
    this.factor = factor;
    this.changes++;
    this.over = 0;
    this.underMs = 0;
    return dir;
  }
}
