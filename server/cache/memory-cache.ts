import { CacheError, type Cache } from "./cache.ts";
import { ExpiringMap, type Clock } from "./expiring-map.ts";
import { checkAmount, checkKey, checkTtl, checkValue, counterToNumber, normalizeStored, parseCounter } from "./validate.ts";

export interface MemoryCacheOptions {
  /**
   * Entries held at most (default 100 000). When full, the least recently used entry is evicted,
   * as memcached evicts under memory pressure: a counter can disappear, and `incr` then resolves
   * null so the caller reseeds it from the record.
   */
  maxEntries?: number;
  /** Milliseconds clock for TTL decisions (default Date.now); tests inject a fake one. */
  now?: Clock;
}

/**
 * An in-process Cache: a map, one per process, so it is shared by nothing else. Used by tests and as
 * the stand-in for memcached when only MySQL is configured (a single durable node); the embedded
 * default counts in the in-process MemoryStore and uses no Cache at all.
 *
 * Guarantees: every operation is applied synchronously inside the call, so operations take effect
 * in call order and each `incr` is applied exactly once. TTLs are exact to the clock's millisecond
 * (memcached rounds to its one-second clock). Everything is lost when the process exits.
 * Reads return a value of digits followed by spaces without the spaces, as MemcachedCache does.
 * After close() every operation rejects with CacheError("unreachable"), like a closed client.
 */
export class MemoryCache implements Cache {
  private readonly map: ExpiringMap<string>;
  private readonly now: Clock;
  private closed = false;

  constructor(options: MemoryCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.map = new ExpiringMap<string>(options.maxEntries ?? 100_000, this.now);
  }

  async get(key: string): Promise<string | null> {
    this.checkOpen();
    checkKey(key);
    const entry = this.map.get(key);
    return entry === undefined ? null : normalizeStored(entry.value);
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    this.checkOpen();
    keys.forEach(checkKey);
    const found = new Map<string, string>();
    for (const key of keys) {
      const entry = this.map.get(key);
      if (entry !== undefined) found.set(key, normalizeStored(entry.value));
    }
    return found;
  }

  async set(key: string, value: string, ttlSec?: number): Promise<void> {
    this.checkOpen();
    checkKey(key);
    checkValue(value);
    this.map.set(key, value, this.expiresAt(checkTtl(ttlSec)));
  }

  async add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    this.checkOpen();
    checkKey(key);
    checkValue(value);
    const expiresAt = this.expiresAt(checkTtl(ttlSec));
    if (this.map.get(key) !== undefined) return false;
    this.map.set(key, value, expiresAt);
    return true;
  }

  /** Like memcached: the key keeps its expiry time (incr does not refresh a TTL). */
  async incr(key: string, amount: number): Promise<number | null> {
    this.checkOpen();
    checkKey(key);
    checkAmount(amount);
    const entry = this.map.get(key);
    if (entry === undefined) return null;
    const current = parseCounter(entry.value);
    if (current === undefined) throw new CacheError("bad_value", `cannot increment non-numeric value of ${key}`);
    // Checked before storing: a counter that would pass 2^53-1 is left unchanged.
    const next = counterToNumber(current + BigInt(amount), key);
    this.map.set(key, String(next), entry.expiresAt);
    return next;
  }

  async delete(key: string): Promise<boolean> {
    this.checkOpen();
    checkKey(key);
    return this.map.delete(key);
  }

  /** Forget every key, as memcached's `flush_all` does (tests: a cache that lost everything). */
  async flushAll(): Promise<void> {
    this.checkOpen();
    this.map.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.map.clear();
  }

  private expiresAt(ttlSec: number): number {
    return ttlSec === 0 ? Infinity : this.now() + ttlSec * 1000;
  }

  private checkOpen(): void {
    if (this.closed) throw new CacheError("unreachable", "cache closed");
  }
}
