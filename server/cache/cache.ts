/**
 * A generic key/value cache, the shape of Django's cache API that the seed's `dualcache` replaced.
 * Implementations: MemcachedCache (memjs) and MemoryCache (in-process: tests, and the stand-in for
 * memcached when only MySQL is configured). DualCache (an L1 in front of any Cache) is itself a Cache.
 *
 * Values are strings. Counters are non-negative integers below 2^53 stored as decimal text.
 * Every method rejects with a CacheError when the backend cannot be reached; none swallows errors.
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** Values of the keys that exist; missing keys are absent from the map. */
  getMany(keys: readonly string[]): Promise<Map<string, string>>;
  /** Store unconditionally. `ttlSec` 0 or absent = no expiry. */
  set(key: string, value: string, ttlSec?: number): Promise<void>;
  /** Store only if absent. Resolves false when the key already existed. */
  add(key: string, value: string, ttlSec?: number): Promise<boolean>;
  /**
   * Add `amount` (>= 0) to an existing counter and resolve its new value, applied exactly once.
   * Resolves null when the key does not exist (it is NOT created: the caller decides the seed
   * value, so a cache that lost a key is noticed instead of silently restarting from zero).
   */
  incr(key: string, amount: number): Promise<number | null>;
  /** Resolves true when a key was deleted. */
  delete(key: string): Promise<boolean>;
  /** Release connections. */
  close(): Promise<void>;
  /**
   * Keys derived from `base`, one placed on each server of this cache (several memcached servers),
   * so that writing and reading all of them touches every server; `[base]` with one server.
   * Deterministic: every node derives the same keys from the same server list. Absent: one server.
   */
  spread?(base: string): string[];
  /**
   * A key derived from `base` that lives on the same server as `key` (several memcached servers):
   * the two are lost together when that server restarts or is flushed. `base` with one server.
   * Deterministic, like `spread`. Absent: one server.
   */
  beside?(key: string, base: string): string;
}

export type CacheErrorCode = "unreachable" | "timeout" | "bad_value" | "protocol";

export class CacheError extends Error {
  readonly code: CacheErrorCode;
  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CacheError";
    this.code = code;
  }
}
