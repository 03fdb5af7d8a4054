/**
 * memcached as the harness sees it: one in-memory server (`MemcachedModel`, a MemoryCache that
 * can lose everything at once) reached by each node through its own Link, where requests are
 * delayed, reordered, refused or time out and still apply later. Implements the project's Cache
 * interface, so the real DualCache and SharedStore run on it unchanged.
 */
import { CacheError, type Cache } from "../../server/cache/cache.ts";
import { MemoryCache } from "../../server/cache/memory-cache.ts";
import type { Link } from "./link.ts";
import type { Sim } from "./sim.ts";

export class MemcachedModel {
  inner: MemoryCache;
  constructor(private readonly sim: Sim) {
    this.inner = new MemoryCache({ now: () => sim.now() });
  }
  /** flush_all (or a restart): every key is gone. */
  flushAll(): void {
    this.inner = new MemoryCache({ now: () => this.sim.now() });
  }
}

export const cacheFailure = (kind: "timeout" | "unreachable", what: string): Error => new CacheError(kind, what);

export class FaultyCache implements Cache {
  constructor(
    private readonly server: MemcachedModel,
    private readonly link: Link,
  ) {}

  get(key: string): Promise<string | null> {
    return this.link.call(`get ${key}`, () => this.server.inner.get(key));
  }
  getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return this.link.call(`getMany ${keys.length}`, () => this.server.inner.getMany(keys));
  }
  set(key: string, value: string, ttlSec?: number): Promise<void> {
    return this.link.call(`set ${key}`, () => this.server.inner.set(key, value, ttlSec));
  }
  add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    return this.link.call(`add ${key}=${value}`, () => this.server.inner.add(key, value, ttlSec));
  }
  incr(key: string, amount: number): Promise<number | null> {
    return this.link.call(`incr ${key}+${amount}`, () => this.server.inner.incr(key, amount));
  }
  delete(key: string): Promise<boolean> {
    return this.link.call(`delete ${key}`, () => this.server.inner.delete(key));
  }
  async close(): Promise<void> {}
}
