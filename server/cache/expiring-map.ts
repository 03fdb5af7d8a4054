/** Milliseconds, monotonic enough for expiry decisions; injectable so tests control time. */
export type Clock = () => number;

export interface Entry<V> {
  readonly value: V;
  /** Absolute time (of the map's clock) at which the entry stops existing; Infinity = never. */
  readonly expiresAt: number;
}

/**
 * A string-keyed map with per-entry expiry and a hard size bound, used by MemoryCache (the store)
 * and DualCache (its L1).
 *
 * Guarantees:
 * - An entry is never returned at or after its `expiresAt` (checked on every read; expiry needs no
 *   timer, so nothing keeps the process alive).
 * - At most `maxEntries` entries are held. When a set would exceed that, the least recently used
 *   entry (reads and writes count as use) is evicted first, expired or not.
 * - Expired entries that are never read again occupy a slot until overwritten or evicted.
 * Every operation is O(1).
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    readonly maxEntries: number,
    private readonly now: Clock = Date.now,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
  }

  /** The live entry for `key`, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry); // most recently used goes last
    return entry;
  }

  set(key: string, value: V, expiresAt = Infinity): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  /** Removes `key`; returns true only when a live (unexpired) entry was removed. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    return entry.expiresAt > this.now();
  }

  clear(): void {
    this.entries.clear();
  }
}
