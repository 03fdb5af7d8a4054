/**
 * One tick: acknowledge the buzzes received since the last tick, drain every tally into the store,
 * and hand each show's fresh totals to the broadcast hub (which publishes a totals frame when they
 * changed, and as a heartbeat).
 *
 * Guarantees:
 *  - One store flush in flight at a time; a tick that finds one in flight leaves the deltas in the
 *    tallies for the next tick (nothing is dropped, totals just lag a tick).
 *  - Every drained delta is handed to the store exactly once; the Store contract (store.ts) says
 *    what it keeps across backend failures. A rejected flush is counted and logged; totals are
 *    then not updated this tick.
 *  - Fresh totals are matched to the show's epoch current when the flush completes
 *    (`show.epochKey`): totals of an epoch replaced meanwhile are never published.
 *  - New `once` claims go to the store with the same flush as the deltas; decisions are applied to
 *    their buzzers (claims.ts) after every flush, once the totals that include them are published,
 *    and the acks they held back go out at the next tick.
 */
import { performance } from "node:perf_hooks";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show } from "../shows/show.ts";
import type { FlushResult, ShowFlush, Store } from "../store/store.ts";
import { ClaimBoard } from "./claims.ts";
import type { Counting } from "./show-counts.ts";
import type { ClaimTicket } from "./tally.ts";

/** Where a tick's output goes (transport's ack queue, the broadcast hub). */
export interface TickOutput {
  /** Send the pending cumulative acks (at most one per connection per tick). */
  flushAcks(): void;
  /** The store's totals for the show's current epoch (undefined: none this tick). */
  totals(show: Show, fresh: ReadonlyMap<string, number> | undefined, nowMs: number): void;
}

export class TickLoop {
  private inFlight: Promise<void> | null = null;
  readonly claims: ClaimBoard;

  constructor(
    private readonly counting: Counting,
    private readonly store: Store,
    private readonly out: TickOutput,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.claims = new ClaimBoard(metrics);
  }

  /** Run one tick (called by the Ticker). */
  tick(lagMs: number, fromMessagePath: boolean): void {
    const t0 = performance.now();
    this.out.flushAcks();
    if (this.inFlight) this.metrics.storeSkippedTicks++;
    else this.inFlight = this.flush();
    this.metrics.observeTick((performance.now() - t0) / 1000, lagMs / 1000, fromMessagePath);
  }

  /** Flush everything now and wait for it (shutdown, and before reconciling). */
  async flushNow(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.out.flushAcks();
    this.inFlight = this.flush();
    if (this.inFlight) await this.inFlight;
  }

  /** Drain every tally into the store; null when it completed synchronously. */
  private flush(): Promise<void> | null {
    const batch: ShowFlush[] = [];
    for (const t of this.counting.takeRetired()) {
      batch.push({ show: t.show, epoch: t.epoch, deltas: t.drain(), claims: this.claimsOf(t.drainClaims()), acts: [] });
    }
    const shows: Show[] = [];
    for (const c of this.counting.all()) {
      const s = c.show;
      shows.push(s);
      const claims = this.claimsOf(c.tally.drainClaims());
      batch.push({ show: s.id, epoch: c.tally.epoch, deltas: c.tally.drain(), claims, acts: s.info.acts.map((a) => a.id) });
    }
    const t0 = performance.now();
    this.metrics.storeFlushes++;
    const sync = this.store.flushSync?.(batch) ?? null;
    if (sync !== null) {
      this.publish(shows, sync);
      this.metrics.storeFlushSecondsSum += (performance.now() - t0) / 1000;
      return null;
    }
    return this.store
      .flush(batch)
      .then((result) => this.publish(shows, result))
      .catch((err: unknown) => {
        this.metrics.storeFlushErrors++;
        this.log.error("store flush failed", { err });
      })
      .finally(() => {
        this.metrics.storeFlushSecondsSum += (performance.now() - t0) / 1000;
        this.inFlight = null;
      });
  }

  private claimsOf(tickets: ClaimTicket[]): ClaimTicket[] {
    if (tickets.length > 0) this.claims.track(tickets);
    return tickets;
  }

  private publish(shows: readonly Show[], result: FlushResult): void {
    const now = Date.now();
    for (const s of shows) this.out.totals(s, result.get(s.epochKey), now);
    this.claims.settle();
  }
}
