/**
 * The flush quorum (flush-quorum.ts) of units sharing totals through memcached: nodes, and the
 * worker threads of shared-mode nodes (each a unit of its own, with a random id).
 *
 *  - Members: time is cut into aligned windows of WINDOW_MS. At its first flush of window w a unit
 *    takes an ordinal i of `<prefix>:units:<w>` (incr, add when missing) and writes its id at
 *    `<prefix>:unit:<w>:<i>`, before its flushed mark. The units waited for are the ids of the last
 *    window (read once per window, awaited) and those of the current one (its count re-read with
 *    every check): a set of ids, not a count, so a unit that joins never stands in for one that
 *    is counted but has not flushed. An ordinal whose id is not readable yet is a unit that
 *    has not flushed (waited for).
 *  - Flushed: after its flush of tick k landed (its counter increments acknowledged by memcached),
 *    a unit sets `<prefix>:flushed:<k>:<id>`. It resolves true only once every member other than
 *    itself has that mark; a read of the totals that starts after that starts after every member's
 *    increments of the tick were acknowledged, so it sees them (on one memcached server or
 *    several). It reads the marks every `pollMs` until then, its deadline, or its next tick.
 *  - A unit that joins is waited for from its first flush on, unless another unit read the current
 *    window's count in the instant between (that unit then publishes before the joiner's flush
 *    lands: the joiner's deltas are in the next tick's frames, one tick late, never lost or
 *    doubled). A unit that dies or stalls stops being waited for one or two windows later; until
 *    then phase 2 runs at its deadline.
 * Cost per unit per tick: its mark written beside one read of the current window's count and the
 * others' marks, one more read when the count grew; then that read per `pollMs` while it waits
 * (at most offset / pollMs); per window, 2-4 operations to count itself and one read of the last
 * window. Keys expire after TTL_SEC. A cache error is counted and logged once per outage; phase 2
 * then runs at its deadline, as it did before the quorum existed.
 */
import { randomUUID } from "node:crypto";
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
  /** How often a waiting unit reads the flushed marks. */
  pollMs: number;
  clock?: () => number;
  /** How a waiting unit waits `pollMs` (tests drive a virtual clock). */
  sleep?: (ms: number) => Promise<unknown>;
}

/** The ids of one window's members as read: null where an ordinal's id was not readable yet. */
interface Window {
  ids: Array<string | null>;
  /** Read as the last window with no id missing: kept from then on. */
  final: boolean;
}

export class SharedFlushQuorum implements FlushQuorum {
  readonly id = randomUUID();
  /** The window this unit last counted itself in. */
  private joined = -1;
  private readonly windows = new Map<number, Window>();
  /** Units waited for at the last check. */
  private fleet = 0;
  private latest = -Infinity;
  private failing = false;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<unknown>;
  /** Cache operations issued, waits that ended with everyone flushed, and failures (metrics). */
  readonly counts = { ops: 0, reached: 0, errors: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly opts: SharedFlushQuorumOptions,
    private readonly log: Logger,
  ) {
    this.clock = opts.clock ?? Date.now;
    this.sleep = opts.sleep ?? sleep;
  }

  /** The number of units waited for at the last check, this one included (0: not known yet). */
  get size(): number {
    return this.fleet;
  }

  async landed(tick: number, deadlineMs: number): Promise<boolean> {
    if (tick > this.latest) this.latest = tick;
    const w = Math.floor(this.clock() / WINDOW_MS);
    try {
      // Counted in the window before its mark is set: a unit that reads this window after this
      // unit's mark finds this unit among the members.
      if (this.joined !== w) {
        const ordinal = await this.add(this.unitsKey(w));
        this.counts.ops++;
        await this.cache.set(this.memberKey(w, ordinal), this.id, TTL_SEC);
        this.joined = w;
        for (const old of this.windows.keys()) if (old < w - 1) this.windows.delete(old);
      }
      this.counts.ops++;
      const mark = this.cache.set(this.flushedKey(tick, this.id), "1", TTL_SEC);
      const [, last] = await Promise.all([mark, this.members(w - 1, true)]);
      for (;;) {
        const current = await this.members(w, false);
        const others = new Set<string | null>([...last.ids, ...current.ids]);
        others.delete(this.id);
        this.fleet = others.size + 1;
        if (await this.allFlushed(tick, others)) {
          this.counts.reached++;
          this.recovered();
          return true;
        }
        if (this.latest > tick || this.clock() + this.opts.pollMs >= deadlineMs) return false;
        await this.sleep(this.opts.pollMs);
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
        help: "memcached operations of the flush quorum (flushed marks, polls, members).",
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
        help: "Units the flush quorum waits for (members of the last and the current window in memcached).",
        kind: "gauge",
        merge: "max",
        samples: [{ value: this.fleet }],
      },
    ];
  }

  /** Whether every id has its flushed mark for `tick` (an id not readable yet, null, never has). */
  private async allFlushed(tick: number, ids: ReadonlySet<string | null>): Promise<boolean> {
    if (ids.has(null)) return false;
    if (ids.size === 0) return true;
    const keys = [...ids].map((id) => this.flushedKey(tick, id!));
    this.counts.ops++;
    const got = await this.cache.getMany(keys);
    return keys.every((k) => got.has(k));
  }

  /**
   * The members of window `w`: its count, then the ids of ordinals not known yet. `last`: the
   * window is over, read until no id is missing, then kept.
   */
  private async members(w: number, last: boolean): Promise<Window> {
    const known = this.windows.get(w) ?? { ids: [], final: false };
    this.windows.set(w, known);
    if (known.final) return known;
    this.counts.ops++;
    const count = Number((await this.cache.get(this.unitsKey(w))) ?? 0);
    while (known.ids.length < count) known.ids.push(null);
    const missing: number[] = [];
    for (const [i, id] of known.ids.entries()) if (id === null) missing.push(i + 1);
    if (missing.length > 0) {
      this.counts.ops++;
      const got = await this.cache.getMany(missing.map((i) => this.memberKey(w, i)));
      for (const i of missing) known.ids[i - 1] = got.get(this.memberKey(w, i)) ?? null;
    }
    known.final = last && !known.ids.includes(null);
    return known;
  }

  private unitsKey(w: number): string {
    return `${this.opts.prefix}:units:${w}`;
  }

  private memberKey(w: number, ordinal: number): string {
    return `${this.opts.prefix}:unit:${w}:${ordinal}`;
  }

  private flushedKey(tick: number, id: string): string {
    return `${this.opts.prefix}:flushed:${tick}:${id}`;
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
