/**
 * The flush quorum (flush-quorum.ts) of units sharing totals through memcached: nodes, and the
 * worker threads of shared-mode nodes (each a unit of its own).
 *
 *  - Flushed: after its flush of tick k landed (its counter increments acknowledged by memcached),
 *    a unit increments `<prefix>:flushed:<k>` (add when missing). The increment's answer tells the
 *    last unit at once; the others read the key every `pollMs` until it reaches the fleet size,
 *    until their deadline, or until their next tick. A read of the totals that starts after the
 *    key reached the fleet size starts after every counted unit's increments were acknowledged, so
 *    it sees them (on one memcached server or several).
 *  - Fleet size: time is cut into aligned windows of WINDOW_MS; each unit increments
 *    `<prefix>:units:<window>` at its first flush of a window, before its flushed increment, and
 *    waits for max(the last complete window's count, read once per window; the current window's
 *    count, read with every flushed increment and poll). A unit that joins is waited for from its
 *    first flush on, unless another unit read the current window's count in the instant between
 *    (that unit then publishes before the joiner's flush lands: the joiner's deltas are in the
 *    next tick's frames, one tick late, never lost or doubled). A unit that dies or stalls stops
 *    being waited for one or two windows later; until then phase 2 runs at its deadline.
 * Cost per unit per tick: the flushed increment (plus add and incr again for the first unit of a
 * tick) pipelined with one read of the window's count, then a two-key read per `pollMs` while it
 * waits (at most offset / pollMs); per window, 1-3 operations to count itself and one read.
 * Keys expire after TTL_SEC. A cache error is counted and logged once per outage; phase 2 then
 * runs at its deadline, as it did before the quorum existed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import type { FlushQuorum } from "./flush-quorum.ts";

const WINDOW_MS = 1000;
const TTL_SEC = 10;

export interface SharedFlushQuorumOptions {
  /** Key prefix shared by every unit (the store's). */
  prefix: string;
  /** How often a waiting unit reads the flushed counter. */
  pollMs: number;
  clock?: () => number;
}

export class SharedFlushQuorum implements FlushQuorum {
  /** The window this unit last counted itself in. */
  private joined = -1;
  /** The last complete window read, and its count. */
  private sized = -1;
  private previous = 0;
  private sizing = false;
  /** Units waited for at the last check: max(last complete window, current window so far). */
  private fleet = 0;
  private latest = -Infinity;
  private failing = false;
  private readonly clock: () => number;
  /** Cache operations issued, waits that ended with everyone flushed, and failures (metrics). */
  readonly counts = { ops: 0, reached: 0, errors: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly opts: SharedFlushQuorumOptions,
    private readonly log: Logger,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  /** The fleet size as last computed (0: not known yet). */
  get size(): number {
    return this.fleet;
  }

  async landed(tick: number, deadlineMs: number): Promise<boolean> {
    if (tick > this.latest) this.latest = tick;
    const w = Math.floor(this.clock() / WINDOW_MS);
    const units = `${this.opts.prefix}:units:${w}`;
    const flushed = `${this.opts.prefix}:flushed:${tick}`;
    try {
      // Counted in the window before its flush is: a unit that reads this window's count after
      // this unit's flushed increment sees this unit in it.
      if (this.joined !== w) {
        await this.add(units);
        this.joined = w;
      }
      this.readPrevious(w);
      this.counts.ops++;
      const [count, current] = await Promise.all([this.add(flushed), this.cache.get(units)]);
      let done = count;
      let now = Number(current ?? 0);
      for (;;) {
        this.fleet = Math.max(this.previous, now);
        if (this.fleet > 0 && done >= this.fleet) {
          this.counts.reached++;
          this.recovered();
          return true;
        }
        if (this.latest > tick || this.clock() + this.opts.pollMs >= deadlineMs) return false;
        await sleep(this.opts.pollMs);
        this.counts.ops += 2;
        const got = await this.cache.getMany([flushed, units]);
        done = Number(got.get(flushed) ?? 0);
        now = Number(got.get(units) ?? 0);
      }
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_flush_quorum_cache_ops_total",
        help: "memcached operations of the flush quorum (flushed counters, polls, fleet size).",
        kind: "counter",
        samples: [{ value: this.counts.ops }],
      },
      {
        name: "buzzcast_flush_quorum_errors_total",
        help: "Flush-quorum cache operations that failed (phase 2 then runs at PUBLISH_OFFSET_MS).",
        kind: "counter",
        samples: [{ value: this.counts.errors }],
      },
      {
        name: "buzzcast_flush_quorum_fleet",
        help: "Units the flush quorum waits for (counted in memcached over the last complete window).",
        kind: "gauge",
        merge: "max",
        samples: [{ value: this.fleet }],
      },
    ];
  }

  /** Once per window: read the last complete window's count (not awaited: until then the one before stands). */
  private readPrevious(w: number): void {
    if (this.sizing || this.sized === w - 1) return;
    this.sizing = true;
    this.counts.ops++;
    this.cache
      .get(`${this.opts.prefix}:units:${w - 1}`)
      .then((v) => {
        this.previous = Number(v ?? 0);
        this.sized = w - 1;
      })
      .catch((err: unknown) => this.failed(err))
      .finally(() => {
        this.sizing = false;
      });
  }

  /** incr, or create with add; if another unit created it meanwhile, incr again. Resolves the new value. */
  private async add(key: string): Promise<number> {
    this.counts.ops++;
    const v = await this.cache.incr(key, 1);
    if (v !== null) return v;
    this.counts.ops++;
    if (await this.cache.add(key, "1", TTL_SEC)) return 1;
    this.counts.ops++;
    const again = await this.cache.incr(key, 1);
    if (again === null) throw new Error(`flush quorum: ${key} vanished between add and incr`);
    return again;
  }

  private failed(err: unknown): void {
    this.counts.errors++;
    if (!this.failing) this.log.warn("flush quorum unavailable; publishing at PUBLISH_OFFSET_MS", { err });
    this.failing = true;
  }

  private recovered(): void {
    if (this.failing) this.log.info("flush quorum available again");
    this.failing = false;
  }
}
