/**
 * Overload control of one unit's publishing: a pacer that spends the thread's time on as many
 * aligned ticks' publishes as it pays for, and skips the others. Time is measured in this thread's
 * CPU time where the OS tells it (work-clock.ts), so waiting for a core another process holds is
 * not work.
 *
 * Two credits, in ms, accrued per tick that passes (by tick number, so wall time: ticks a late
 * thread missed count too) and spent as work is done; a tick publishes when either is not negative:
 *  - the thread's: accrues `idlePct` (TICK_IDLE_PCT) of a tick and is spent by all of the thread's
 *    CPU time (the fan-out, the kernel's send path, buzzes, connects, HTTP, sweeps alike). So a
 *    thread with nothing else to do publishes until it is busy `idlePct` of the time, and other work
 *    takes its share off the publishes first.
 *  - the tick's own: accrues `budgetPct` (TICK_BUDGET_PCT) of a tick and is spent by the tick's work
 *    (acks, flush, totals read and publish, and the fan-out uWS does after it, fanout-cost.ts). So
 *    the tick keeps its budget however much other work there is.
 * A publish that costs 1.4 ticks is thus paid for by the ticks after it, and the unit publishes on
 * about 5 of every 7 ticks, not every 2nd or 4th: the rate is what the thread has over the cost of a
 * publish, not the power of two under it (measured at 15,000 subscribers: a halving control settled
 * at every 4th tick, 2.5 Hz, with its thread half idle, where bare uWS published at 8-9 Hz). Where the
 * thread's CPU time is unknown (a wall clock) only the tick's own credit applies.
 *
 * Guarantees:
 *  - Flushing is never slowed: deltas and acks go every tick whatever the load; only reading and
 *    publishing totals are skipped on some ticks.
 *  - Publishes happen only on aligned tick instants (k x TICK_MS), the instants every unit at full
 *    rate publishes on too.
 *  - The gap between two publishes never exceeds `maxPublishPeriodMs` (default 1 s: the heartbeat
 *    and audience guarantees hold at any load), whatever the credits.
 *  - At most one tick's credit is carried from a decision to the next (an idle spell does not pay
 *    for a burst later), and at most one longest gap's is owed (a single huge publish does not
 *    silence the unit for longer).
 *  - Back to full rate as soon as a tick's work fits again: no hold-off.
 *  - The announced period (`publishPeriodMs`, frames' `tickMs`) is the mean gap between the last
 *    RECENT publishes, exactly TICK_MS at full rate.
 *  - Metrics only (`lastRatio`, `lastAllowance`) are per measurement period, publish to publish; a
 *    publish less than half a tick of wall time after the previous one (a late thread running a
 *    tick's publish and the next tick's in one turn) joins the period in progress (`open`).
 */

export interface TickRateOptions {
  /** TICK_MS, the base tick period (flushes go at every one; publishes on those the credits pay for). */
  tickMs: number;
  /** TICK_BUDGET_PCT: share of the thread the tick's work may always take, in percent (1-100). */
  budgetPct: number;
  /** Longest gap between two publishes (default 1000 ms, and never less than one tick). */
  maxPublishPeriodMs?: number;
  /**
   * TICK_IDLE_PCT (default SATURATED x 100): how busy the thread may be kept by publishing when
   * nothing else wants it. At or below `budgetPct`: the budget alone.
   */
  idlePct?: number;
}

/** Default share of the thread publishing may fill (TICK_IDLE_PCT; config.ts has the same default). */
export const SATURATED = 0.95;
/** Publishes the announced period is the mean gap of. */
export const RECENT = 8;

/**
 * A credit of ms: at each decision, the ticks passed since the last one add `perTickMs` each and the
 * work done meanwhile is taken off. At most one tick's accrual is carried from one decision to the
 * next (an idle spell does not pay for a burst later; a gap of ticks a late thread missed still pays
 * for the work done across it), and what is owed never exceeds `maxGap` ticks' accrual.
 */
class Credit {
  ms = 0;
  private spent = 0;
  constructor(
    private readonly perTickMs: number,
    private readonly maxGap: number,
  ) {}

  spend(ms: number): void {
    this.spent += ms;
  }

  /** Settle at a decision `ticks` after the last one; whether the balance is not negative. */
  settle(ticks: number): boolean {
    const carried = Math.min(this.ms, this.perTickMs);
    this.ms = Math.max(-this.perTickMs * this.maxGap, carried + this.perTickMs * ticks - this.spent);
    this.spent = 0;
    return this.ms >= 0;
  }
}

export class TickRate {
  /** The longest gap between two publishes, in ticks (>= 1). */
  readonly maxGap: number;
  /** Times publishing went from every tick to paced (overload) or back, for metrics. */
  changes = 0;
  /** Tick work over the last completed measurement period, as a share of its wall time, for metrics. */
  lastRatio = 0;
  /** The share of the thread the tick's work could take in that period: what other work left under TICK_IDLE_PCT, at least the budget. */
  lastAllowance: number;
  /** The last `published` did not end the measurement period (a catch-up publish): measure on from its start. */
  open = false;
  private readonly tickCredit: Credit;
  private readonly threadCredit: Credit;
  /** The thread's CPU clock at the last `decide` that had one. */
  private cpuAt: number | null = null;
  /** The tick the credits were last accrued to. */
  private accruedTo: number | null = null;
  /** Ticks of the last RECENT publishes, oldest first. */
  private readonly recent: number[] = [];
  /** Tick work and ticks in the measurement period in progress. */
  private workMs = 0;
  private ticks = 0;
  private paced = false;
  private readonly budget: number;
  private readonly ceiling: number;

  constructor(private readonly opts: TickRateOptions) {
    this.budget = opts.budgetPct / 100;
    this.ceiling = Math.max(this.budget, (opts.idlePct ?? SATURATED * 100) / 100);
    this.maxGap = Math.max(1, Math.floor((opts.maxPublishPeriodMs ?? 1000) / opts.tickMs));
    this.tickCredit = new Credit(this.budget * opts.tickMs, this.maxGap);
    this.threadCredit = new Credit(this.ceiling * opts.tickMs, this.maxGap);
    this.lastAllowance = this.budget;
  }

  /** The effective publish period: the mean gap between the last RECENT publishes (TICK_MS at full rate). */
  get publishPeriodMs(): number {
    const n = this.recent.length;
    if (n < 2) return this.opts.tickMs;
    return Math.round(((this.recent[n - 1]! - this.recent[0]!) * this.opts.tickMs) / (n - 1));
  }

  /**
   * Whether tick k reads and publishes totals; decides it, so call it once per tick, in tick order
   * (ticks never asked about, missed by a late thread, still accrue). `cpuMs`: the thread's CPU
   * clock now (work-clock.ts); absent, the thread's credit is not used (the budget alone applies).
   */
  decide(tick: number, cpuMs?: number): boolean {
    const passed = this.accruedTo === null ? 0 : Math.max(0, tick - this.accruedTo);
    this.accruedTo = tick;
    const tickPays = this.tickCredit.settle(passed);
    let threadPays = false;
    if (cpuMs !== undefined) {
      if (this.cpuAt !== null) this.threadCredit.spend(cpuMs - this.cpuAt);
      this.cpuAt = cpuMs;
      threadPays = this.threadCredit.settle(passed) && this.ceiling > this.budget;
    }
    const last = this.recent[this.recent.length - 1];
    const publish = last === undefined || threadPays || tickPays || tick - last >= this.maxGap;
    if (!publish) return false;
    this.recent.push(tick);
    if (this.recent.length > RECENT) this.recent.shift();
    return true;
  }

  /** One tick's flush phase ran; `ms` of work. */
  flushed(ms: number): void {
    this.ticks++;
    this.spend(ms);
  }

  /** Work done outside the phases' own turns (a publish after an asynchronous flush, the fan-out after a publish). */
  worked(ms: number): void {
    this.spend(ms);
  }

  /**
   * A publishing tick finished (`ms` of publish work): the measurement period (metrics) ends here,
   * unless it lasted under half a tick (`open`). `busyMs`: the thread's CPU time over the period, all
   * work included; `elapsedMs`: its wall time (absent: its ticks x TICK_MS). Returns the change:
   * +1 paced (ticks skipped), -1 back to every tick, 0 none.
   */
  published(ms: number, busyMs?: number, elapsedMs?: number): -1 | 0 | 1 {
    this.spend(ms);
    this.open = elapsedMs !== undefined && elapsedMs < this.opts.tickMs / 2;
    if (this.open) return 0;
    const spanMs = Math.max(this.ticks * this.opts.tickMs, elapsedMs ?? 0);
    if (spanMs > 0) {
      this.lastRatio = this.workMs / spanMs;
      const other = busyMs === undefined ? 1 : Math.max(0, busyMs - this.workMs) / spanMs;
      this.lastAllowance = Math.max(this.budget, this.ceiling - other);
    }
    this.workMs = 0;
    this.ticks = 0;
    const paced = this.publishPeriodMs > this.opts.tickMs;
    if (paced === this.paced) return 0;
    this.paced = paced;
    this.changes++;
    return paced ? 1 : -1;
  }

  private spend(ms: number): void {
    this.workMs += ms;
    this.tickCredit.spend(ms);
  }
}
