/**
 * One tick, in the two phases the Ticker fires at aligned instants (tick k = k x TICK_MS since the
 * Unix epoch, the same instants on every worker and node):
 *   phase 1 (flush, at k x TICK_MS): report this unit's audience, drain every tally into the store
 *     (deltas and `once` claims; a store with a journal makes the deltas durable first), and
 *     acknowledge the buzzes drained once the store holds them;
 *   phase 2 (publish): read the totals, which now include every unit's phase-1 deltas
 *     (Store.readTotals), and hand each show's totals to the broadcast hub with the tick instant as
 *     `ts`, the effective period and the audience. It starts as soon as the flush quorum says every
 *     live unit's flush of the tick landed (store/flush-quorum.ts), and at the latest
 *     PUBLISH_OFFSET_MS after the tick instant (the Ticker's deadline), so a stalled unit delays
 *     it by the offset at most.
 *
 * Guarantees:
 *  - One tick in flight at a time (flush, then read and publish); a flush phase that finds one
 *    in flight leaves the deltas in the tallies for the next tick (nothing is dropped, totals just
 *    lag a tick). A publish waits for its own tick's flush: it never publishes before its deltas
 *    are in the store.
 *  - An ack leaves only after the flush that carries its buzzes resolved (a failed flush queues it
 *    again): a unit that dies while a flush waits has acknowledged none of that flush's buzzes.
 *  - With a journal (`Store.journal`), the drained deltas are durable before the flush starts,
 *    so an ack, which leaves only after that flush, never covers a buzz a SIGKILL could lose.
 *  - Every drained delta is handed to the store exactly once; the Store contract (store.ts) says
 *    what it keeps across backend failures. A rejected flush is counted and logged; totals are
 *    then not published this tick.
 *  - Fresh totals are matched to the show's epoch current when they are published
 *    (`show.epochKey`): totals of an epoch replaced meanwhile are never published.
 *  - Publishing on the quorum rather than at the deadline changes when totals are read, never what
 *    is counted: a unit the quorum did not wait for has its deltas in the next tick's frames, and
 *    published values never decrease (the hub publishes max(published, store)).
 *  - `once` decisions are what flushes return (the store never writes into a claim); they are
 *    applied to their buzzers (claims.ts) after a publish, once the totals that include them are
 *    out; the acks they held back go out at the next tick.
 *  - Overload (tick-rate.ts): flushes and acks run every tick; only the publish skips the aligned
 *    ticks the thread's allowance does not pay for, and frames say so (`tickMs`, the mean period).
 */
import { performance } from "node:perf_hooks";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show } from "../shows/show.ts";
import type { EpochTotals, FlushResult, ShowFlush, Store, TotalsWant } from "../store/store.ts";
import type { FlushQuorum } from "../store/flush-quorum.ts";
import { ClaimBoard } from "./claims.ts";
import type { Counting } from "./show-counts.ts";
import type { ClaimTicket } from "./tally.ts";
import { FanoutCost } from "./fanout-cost.ts";
import { workClock, type WorkClock } from "./work-clock.ts";
import { TickRate } from "./tick-rate.ts";

/** What a totals frame says besides the totals. */
export interface PublishedTick {
  /** The aligned tick instant (ms since the Unix epoch, a multiple of TICK_MS). */
  ts: number;
  /**
   * The effective publish period: TICK_MS, or the mean gap between recent publishes while the
   * overload control skips ticks (what frames announce as `tickMs`).
   * TICK_MS itself, the base period every unit flushes at, is `tickMs` in the options.
   */
  publishPeriodMs: number;
  /** Viewers of the show, fleet-wide as last summed. */
  watching: number;
}

/** Where a tick's output goes (transport's ack queue, the broadcast hub). */
export interface TickOutput {
  /**
   * Take the pending cumulative acks (at most one per connection per tick) as they stand, right
   * before the tallies are drained; call the result once the flush settled: `true` sends them (the
   * store holds their buzzes), `false` queues them again.
   */
  takeAcks(): (stored: boolean) => void;
  /** Connections of this unit that said hello to the show. */
  localWatching(show: Show): number;
  /** The store's totals for the show's current epoch (undefined: none this tick); returns the deliveries (0: nothing published). */
  totals(show: Show, fresh: ReadonlyMap<string, number> | undefined, at: PublishedTick): number;
}

export interface TickLoopOptions {
  /** TICK_MS, the base tick period (flushes and acks at every multiple of it). */
  tickMs: number;
  /** PUBLISH_OFFSET_MS as resolved (node.ts): phase 2's deadline after the tick instant. */
  publishOffsetMs: number;
  /** Tells when every unit's flush landed (absent: one process, phase 2 at the offset). */
  quorum?: FlushQuorum;
  /** TICK_BUDGET_PCT: share of the thread the tick's work may always take (tick-rate.ts). */
  budgetPct: number;
  /** TICK_IDLE_PCT: the most it may take while nothing else wants the thread (tick-rate.ts; default 95). */
  idlePct?: number;
  /** Messages received so far (Ticker.messages): tells fan-out measurements from incoming traffic. */
  messages?: () => number;
  /** The clock tick work is measured with (default work-clock.ts: this thread's CPU time on Linux, else wall). */
  workClock?: WorkClock;
}

interface Run {
  readonly tick: number;
  readonly shows: Show[];
  readonly wants: TotalsWant[];
  state: "flushing" | "flushed" | "failed" | "reading";
  /** What flush returned (published if the store cannot read separately). */
  result: FlushResult | null;
  /** Set by the publish phase: whether this tick publishes. */
  publish: boolean | undefined;
}

export class TickLoop {
  readonly claims: ClaimBoard;
  readonly rate: TickRate;
  readonly fanout: FanoutCost;
  /** How phase 2 started: every unit flushed (`quorum`), or its deadline came (`offset`). */
  readonly phase2Starts = { quorum: 0, offset: 0 };
  private run: Run | null = null;
  private inFlight: Promise<void> | null = null;
  private fleet: ReadonlyMap<string, number> = new Map();
  private local: ReadonlyMap<string, number> = new Map();
  /** Tick work is this thread's CPU time where the OS tells it (a wait for a core is not work). */
  private readonly work: WorkClock;
  /** Whether `work` is the thread's CPU time: then the thread's busy share is known (tick-rate.ts). */
  private readonly threadCpu: boolean;
  /** `work()` and wall time (performance.now()) at the end of the last publishing period. */
  private periodFrom = 0;
  private periodFromWall = performance.now();

  constructor(
    private readonly counting: Counting,
    private readonly store: Store,
    private readonly out: TickOutput,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: TickLoopOptions,
  ) {
    this.claims = new ClaimBoard(metrics);
    const own = opts.workClock === undefined ? workClock() : null;
    this.work = opts.workClock ?? own!.clock;
    this.threadCpu = own?.kind === "thread-cpu";
    this.periodFrom = this.work();
    this.rate = new TickRate({
      tickMs: opts.tickMs,
      budgetPct: opts.budgetPct,
      ...(opts.idlePct === undefined ? {} : { idlePct: opts.idlePct }),
    });
    // The deliveries uWS makes after a publish are tick work too (counted in the period they land in).
    this.fanout = new FanoutCost(opts.messages ?? (() => 0), (ms) => this.rate.worked(ms), this.work);
  }

  /** Viewers per show id: this unit's, and fleet-wide as last summed. */
  watching(): { local: ReadonlyMap<string, number>; fleet: ReadonlyMap<string, number> } {
    return { local: this.local, fleet: this.fleet };
  }

  /** Phase 1 of tick k (called by the Ticker). */
  flushPhase(tick: number, lagMs: number, fromMessagePath: boolean): void {
    const t0 = performance.now();
    const w0 = this.work();
    this.audience(tick * this.opts.tickMs);
    // A tick in flight keeps this tick's buzzes and acks for the next one.
    if (this.run) this.metrics.storeSkippedTicks++;
    else this.run = this.startFlush(tick, true);
    this.rate.flushed(this.work() - w0);
    this.metrics.observeTick((performance.now() - t0) / 1000, lagMs / 1000, fromMessagePath);
  }

  /** Phase 2 of tick k at its deadline (called by the Ticker); a no-op when the quorum started it. */
  publishPhase(tick: number): void {
    const run = this.run;
    if (!run || run.tick !== tick || run.publish !== undefined) return; // skipped tick, or an older one still in flight
    this.phase2Starts.offset++;
    this.startPhase2(run);
  }

  /** Phase 2 before its deadline: every unit's flush of the tick landed. */
  private quorumReached(run: Run): void {
    if (this.run !== run || run.publish !== undefined) return; // published at the deadline meanwhile
    this.phase2Starts.quorum++;
    this.startPhase2(run);
  }

  private startPhase2(run: Run): void {
    const w0 = this.work();
    const tick = run.tick;
    this.metrics.phase2Delay.observe((Date.now() - tick * this.opts.tickMs) / 1000);
    run.publish = this.rate.decide(tick, this.threadCpu ? w0 : undefined);
    this.advance(run);
    if (!run.publish) this.rate.worked(this.work() - w0);
  }

  /** Flush everything now, publish, and wait for it (start-up, shutdown). */
  async flushNow(): Promise<void> {
    await this.settle();
    this.audience(Date.now());
    this.run = this.startFlush(Math.floor(Date.now() / this.opts.tickMs), false);
    await this.settle();
  }

  /** Finish the tick in flight, publishing it now if its publish phase has not come yet. */
  private async settle(): Promise<void> {
    while (this.run) {
      const r = this.run;
      if (r.publish === undefined) {
        r.publish = true;
        this.advance(r);
      }
      if (this.run !== r) continue;
      if (this.inFlight) await this.inFlight;
      else this.run = null; // cannot happen (a run that is not done has a promise); never spin
    }
  }

  /** This unit's viewers per show, and the fleet's as the store last summed them. */
  private audience(nowMs: number): void {
    const local = new Map<string, number>();
    for (const c of this.counting.all()) local.set(c.show.id, this.out.localWatching(c.show));
    this.local = local;
    this.fleet = this.store.watching?.(local, nowMs) ?? local;
  }

  /** Drain every tally into the store; `report`: tell the quorum when it landed (ticks of the Ticker only). */
  private startFlush(tick: number, report: boolean): Run {
    // Taken right before the drain, in the same synchronous step: the acks cover exactly the
    // buzzes this run hands to the store.
    const acks = this.out.takeAcks();
    const batch: ShowFlush[] = [];
    for (const t of this.counting.takeRetired()) {
      batch.push({ show: t.show, epoch: t.epoch, deltas: t.drain(), claims: this.claimsOf(t.drainClaims()), retired: true });
    }
    const run: Run = { tick, shows: [], wants: [], state: "flushing", result: null, publish: undefined };
    for (const c of this.counting.all()) {
      const s = c.show;
      run.shows.push(s);
      const claims = this.claimsOf(c.tally.drainClaims());
      const acts = s.info.acts.map((a) => a.id);
      batch.push({ show: s.id, epoch: c.tally.epoch, deltas: c.tally.drain(), claims, acts });
      run.wants.push({ show: s.id, epoch: c.tally.epoch, acts });
    }
    // Durable (with a journal) before the flush starts, so before any ack of what was just drained.
    this.store.journal?.(batch);
    const t0 = performance.now();
    this.metrics.storeFlushes++;
    const sync = this.store.flushSync?.(batch) ?? null;
    if (sync !== null) {
      run.result = sync;
      this.claims.decided(sync.decisions);
      run.state = "flushed";
      acks(true);
      this.metrics.storeFlushDuration.observe((performance.now() - t0) / 1000);
      if (report) this.landed(run);
      return run;
    }
    this.inFlight = this.store
      .flush(batch)
      .then(
        (result) => {
          run.result = result;
          this.claims.decided(result.decisions);
          run.state = "flushed";
          acks(true);
        },
        (err: unknown) => {
          run.state = "failed";
          acks(false);
          this.metrics.storeFlushErrors++;
          this.log.error("store flush failed", { err });
        },
      )
      .finally(() => {
        this.metrics.storeFlushDuration.observe((performance.now() - t0) / 1000);
        this.inFlight = null;
        const landed = run.state !== "failed";
        this.advance(run);
        // After the flush's promise is off the books, so that a phase 2 the quorum starts owns `inFlight`.
        if (report && landed) this.landed(run);
      });
    return run;
  }

  /**
   * This unit's flush of the run's tick is in the store: tell the quorum (the other units may wait
   * for it), and start phase 2 early if everyone's landed before the deadline. Reported even when
   * this unit's own deadline passed. Never with a zero offset: nobody waits then.
   */
  private landed(run: Run): void {
    const q = this.opts.quorum;
    if (!q || this.opts.publishOffsetMs === 0) return;
    q.landed(run.tick, run.tick * this.opts.tickMs + this.opts.publishOffsetMs).then(
      (all) => {
        if (all) this.quorumReached(run);
      },
      (err: unknown) => {
        // The contract says it resolves false on failure; a rejection is a bug, but phase 2 still runs at the deadline.
        this.metrics.storeFlushErrors++;
        this.log.error("flush quorum rejected", { err });
      },
    );
  }

  /** Move a run on once both its flush is done and its publish phase has come. */
  private advance(run: Run): void {
    if (this.run !== run || run.state === "flushing" || run.state === "reading" || run.publish === undefined) return;
    if (run.state === "failed" || !run.publish) {
      this.run = null;
      return;
    }
    run.state = "reading";
    const read = this.store.readTotals ? this.store.readTotals(run.wants) : run.result!.totals;
    if (!(read instanceof Promise)) return this.publish(run, read);
    this.inFlight = read
      .then(
        (totals) => this.publish(run, totals),
        (err: unknown) => {
          this.metrics.storeFlushErrors++;
          this.log.error("reading totals failed; publishing what the flush returned", { err });
          this.publish(run, run.result!.totals);
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
  }

  private claimsOf(tickets: ClaimTicket[]): ClaimTicket[] {
    if (tickets.length > 0) this.claims.track(tickets);
    return tickets;
  }

  private publish(run: Run, totals: EpochTotals): void {
    const w0 = this.work();
    const publishPeriodMs = this.rate.publishPeriodMs;
    const ts = run.tick * this.opts.tickMs;
    let deliveries = 0;
    for (const s of run.shows)
      deliveries += this.out.totals(s, totals.get(s.epochKey), { ts, publishPeriodMs, watching: this.fleet.get(s.id) ?? 0 });
    this.claims.settle();
    this.run = null;
    this.fanout.published(deliveries);
    const w1 = this.work();
    const wall = performance.now();
    const change = this.threadCpu
      ? this.rate.published(w1 - w0, w1 - this.periodFrom, wall - this.periodFromWall)
      : this.rate.published(w1 - w0);
    // A catch-up publish (the rate keeps the period open) is measured on from the period's start.
    if (!this.rate.open) {
      this.periodFrom = w1;
      this.periodFromWall = wall;
    }
    if (change > 0) {
      this.log.warn("tick over its allowance: publishing on the ticks it pays for", {
        publishPeriodMs: this.rate.publishPeriodMs,
        workRatio: round(this.rate.lastRatio),
        allowance: this.rate.lastAllowance,
      });
    } else if (change < 0) this.log.info("tick load down: publishing every tick", { publishPeriodMs: this.rate.publishPeriodMs });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
