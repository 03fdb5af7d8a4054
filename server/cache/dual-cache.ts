/**
 * The seed's two-level cache: an in-process L1 with a short TTL in front of a global Cache
 * (memcached in production), so repeated reads on a node cost no network round trip.
 *
 * Guarantees:
 * - Staleness: a value read from L1 is at most `l1TtlMs` older than what this node last read or
 *   wrote globally. Writes made by OTHER nodes become visible here within `l1TtlMs` (no cross-node
 *   invalidation). A value read from the global cache may stay in L1 up to `l1TtlMs` after its
 *   global TTL ran out; a value written here with a TTL leaves L1 no later than that TTL.
 * - Writes (set/add/incr/delete) always go to the global cache; L1 is then refreshed with the value
 *   the global cache confirmed (set, successful add, incr result) or dropped (delete, add that found
 *   the key, incr of a missing key, any failed write).
 * - A read that was in flight while a write to the same key started or finished never fills L1 with
 *   its (possibly older) result; it still returns that result to its caller.
 * - Errors of the global cache are never masked: the call rejects with the same CacheError and the
 *   key leaves L1, so the next read asks the global cache again.
 * - L1 holds at most `maxEntries` keys (least recently used evicted first).
 */
import type { Family } from "../ops/metrics.ts";
import type { Cache } from "./cache.ts";
import { ExpiringMap, type Clock } from "./expiring-map.ts";
import { checkAmount, checkKey, checkTtl, checkValue, normalizeStored } from "./validate.ts";

export interface DualCacheOptions {
  /** L1 lifetime of an entry in ms (default 1000). 0 disables L1: every read goes to the global cache. */
  l1TtlMs?: number;
  /** Keys held in L1 at most (default 10 000). */
  maxEntries?: number;
  /** Also remember in L1 that a key is missing, for `l1TtlMs` (default false, as the seed). */
  cacheMisses?: boolean;
  /** Milliseconds clock for L1 expiry (default Date.now); tests inject a fake one. */
  now?: Clock;
}

/** Counters since construction; plain fields, read at scrape time by `metrics()`. */
export interface DualCacheStats {
  /** Keys answered from L1 (a cached miss counts as a hit). */
  l1Hits: number;
  /** Keys not in L1 (each then read from the global cache). */
  l1Misses: number;
  /** Keys requested from the global cache (one memcached GET each). */
  globalGets: number;
  globalSets: number;
  globalAdds: number;
  globalIncrs: number;
  globalDeletes: number;
  /** Global operations that rejected. */
  globalErrors: number;
}

type WriteStat = "globalSets" | "globalAdds" | "globalIncrs" | "globalDeletes";

/** Per key with reads in flight: how many, and whether a write to it started or ended meanwhile. */
interface InFlight {
  reads: number;
  dirty: boolean;
}

export class DualCache implements Cache {
  readonly stats: DualCacheStats = {
    l1Hits: 0,
    l1Misses: 0,
    globalGets: 0,
    globalSets: 0,
    globalAdds: 0,
    globalIncrs: 0,
    globalDeletes: 0,
    globalErrors: 0,
  };
  readonly l1TtlMs: number;
  private readonly l1: ExpiringMap<string | null>;
  private readonly now: Clock;
  private readonly cacheMisses: boolean;
  private readonly inFlight = new Map<string, InFlight>();

  constructor(
    private readonly global: Cache,
    options: DualCacheOptions = {},
  ) {
    this.l1TtlMs = options.l1TtlMs ?? 1000;
    if (!(this.l1TtlMs >= 0)) throw new RangeError(`l1TtlMs must be >= 0, got ${this.l1TtlMs}`);
    this.now = options.now ?? Date.now;
    this.cacheMisses = options.cacheMisses ?? false;
    this.l1 = new ExpiringMap(options.maxEntries ?? 10_000, this.now);
  }

  /** Metric families for `stats` (the composition root adds them to /metrics). */
  metrics(): Family[] {
    const ops = ["globalGets", "globalSets", "globalAdds", "globalIncrs", "globalDeletes", "globalErrors"] as const;
    return [
      {
        name: "buzzcast_global_cache_ops_total",
        help: "Operations sent to the global cache (memcached), by op; errors: those that rejected.",
        kind: "counter",
        samples: ops.map((k) => ({ labels: { op: k.slice(6).toLowerCase() }, value: this.stats[k] })),
      },
      {
        name: "buzzcast_l1_hits_total",
        help: "Dual cache keys answered from the local L1.",
        kind: "counter",
        samples: [{ value: this.stats.l1Hits }],
      },
      {
        name: "buzzcast_l1_misses_total",
        help: "Dual cache keys not in L1 (each read from the global cache).",
        kind: "counter",
        samples: [{ value: this.stats.l1Misses }],
      },
    ];
  }

  async get(key: string): Promise<string | null> {
    const found = await this.getMany([key]);
    return found.get(key) ?? null;
  }

  /** Keys missing from L1 are fetched with one global getMany. */
  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    keys.forEach(checkKey);
    const found = new Map<string, string>();
    const misses: string[] = [];
    for (const key of new Set(keys)) {
      const entry = this.l1.get(key);
      if (entry === undefined) {
        misses.push(key);
        continue;
      }
      this.stats.l1Hits++;
      if (entry.value !== null) found.set(key, entry.value);
    }
    if (misses.length === 0) return found;
    this.stats.l1Misses += misses.length;
    this.stats.globalGets += misses.length;
    for (const key of misses) this.readStarted(key);
    let fetched: Map<string, string>;
    try {
      fetched = await this.global.getMany(misses);
    } catch (err) {
      this.stats.globalErrors++;
      for (const key of misses) this.readEnded(key);
      throw err;
    }
    for (const key of misses) {
      const value = fetched.get(key);
      if (value !== undefined) found.set(key, value);
      const clean = this.readEnded(key);
      if (clean && (value !== undefined || this.cacheMisses)) this.fill(key, value ?? null);
    }
    return found;
  }

  async set(key: string, value: string, ttlSec?: number): Promise<void> {
    checkValue(value);
    checkTtl(ttlSec);
    await this.write(key, "globalSets", () => this.global.set(key, value, ttlSec));
    this.fill(key, normalizeStored(value), ttlSec); // as the global cache reads it back
  }

  async add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    checkValue(value);
    checkTtl(ttlSec);
    const added = await this.write(key, "globalAdds", () => this.global.add(key, value, ttlSec));
    if (added)
      this.fill(key, normalizeStored(value), ttlSec); // as the global cache reads it back
    else this.l1.delete(key); // the key exists with a value we have not seen
    return added;
  }

  async incr(key: string, amount: number): Promise<number | null> {
    checkAmount(amount);
    const next = await this.write(key, "globalIncrs", () => this.global.incr(key, amount));
    if (next !== null) this.fill(key, String(next));
    else if (this.cacheMisses) this.fill(key, null);
    else this.l1.delete(key);
    return next;
  }

  async delete(key: string): Promise<boolean> {
    const deleted = await this.write(key, "globalDeletes", () => this.global.delete(key));
    if (this.cacheMisses) this.fill(key, null);
    else this.l1.delete(key);
    return deleted;
  }

  /** Drops L1 and closes the global cache. */
  async close(): Promise<void> {
    this.l1.clear();
    await this.global.close();
  }

  /** Runs a global write with L1 bookkeeping common to all writes; on failure the key leaves L1. */
  private async write<T>(key: string, stat: WriteStat, op: () => Promise<T>): Promise<T> {
    checkKey(key);
    this.stats[stat]++;
    this.markDirty(key);
    try {
      return await op();
    } catch (err) {
      this.stats.globalErrors++;
      this.l1.delete(key);
      throw err;
    } finally {
      this.markDirty(key);
    }
  }

  /** `ttlSec` (of a write made here) caps the L1 lifetime. */
  private fill(key: string, value: string | null, ttlSec?: number): void {
    if (this.l1TtlMs === 0) return;
    let lifetime = this.l1TtlMs;
    if (ttlSec !== undefined && ttlSec > 0) lifetime = Math.min(lifetime, ttlSec * 1000);
    this.l1.set(key, value, this.now() + lifetime);
  }

  private readStarted(key: string): void {
    const f = this.inFlight.get(key);
    if (f === undefined) this.inFlight.set(key, { reads: 1, dirty: false });
    else f.reads++;
  }

  /** Returns true when no write to `key` started or ended while this read was in flight. */
  private readEnded(key: string): boolean {
    const f = this.inFlight.get(key);
    if (f === undefined) return true;
    if (--f.reads === 0) this.inFlight.delete(key);
    return !f.dirty;
  }

  private markDirty(key: string): void {
    const f = this.inFlight.get(key);
    if (f !== undefined) f.dirty = true;
  }
}
