/**
 * One tick: acknowledge the buzzes received since the last tick, drain every tally into the store,
 * and publish one totals frame per show whose totals changed (or every second as a heartbeat).
 *
 * Guarantees:
 *  - One store flush in flight at a time; a tick that finds one in flight leaves the deltas in the
 *    tallies for the next tick (nothing is dropped, totals just lag a tick).
 *  - Published totals never decrease within an epoch: each act's value is max(published, store).
 *  - A totals frame is serialized once and published to the show's topic; `seq` grows by one per
 *    frame per show.
 */
import { performance } from "node:perf_hooks";
import type { TotalsFrame } from "../../shared/protocol.ts";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show } from "../shows/show.ts";
import type { ShowRegistry } from "../shows/show-registry.ts";
import { showEpochKey, type FlushResult, type ShowFlush, type Store } from "../store/store.ts";

export interface Broadcaster {
  /** Send one serialized frame to every subscriber of `topic`. */
  publish(topic: string, frame: string): void;
  /** Send the pending cumulative acks (at most one per connection per tick). */
  flushAcks(): void;
}

export interface TickLoopOptions {
  heartbeatMs: number;
}

export class TickLoop {
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly shows: ShowRegistry,
    private readonly store: Store,
    private readonly out: Broadcaster,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: TickLoopOptions,
  ) {}

  /** Run one tick (called by the Ticker). */
  tick(_now: number, lagMs: number, fromMessagePath: boolean): void {
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
    for (const t of this.shows.takeRetired()) batch.push({ show: t.show, epoch: t.epoch, deltas: t.drain(), acts: [] });
    const shows: Show[] = [];
    for (const s of this.shows.all()) {
      shows.push(s);
      batch.push({ show: s.id, epoch: s.epoch, deltas: s.tally.drain(), acts: s.info.acts.map((a) => a.id) });
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
        // The store retains the deltas it was handed; totals are simply not updated this tick.
        this.metrics.storeFlushErrors++;
        this.log.error("store flush failed", { err });
      })
      .finally(() => {
        this.metrics.storeFlushSecondsSum += (performance.now() - t0) / 1000;
        this.inFlight = null;
      });
  }

  private publish(shows: readonly Show[], result: FlushResult): void {
    const now = Date.now();
    for (const s of shows) {
      const fresh = result.get(showEpochKey(s.id, s.epoch));
      let changed = false;
      if (fresh) {
        for (const [act, v] of fresh) {
          if (v > (s.totals[act] ?? 0)) {
            s.totals[act] = v;
            changed = true;
          }
        }
      }
      if (!changed && now - s.lastPublishAt < this.opts.heartbeatMs) continue;
      s.seq++;
      s.lastPublishAt = now;
      s.welcomeCache = null;
      const frame: TotalsFrame = { type: "totals", show: s.id, epoch: s.epoch, seq: s.seq, ts: now, totals: s.totals };
      this.out.publish(s.topic, JSON.stringify(frame));
      this.metrics.framesPublished++;
    }
  }
}
