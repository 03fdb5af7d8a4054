/**
 * A Cache in front of another (usually a MemoryCache) whose replies a test controls, for driving
 * the real store through the races memcached's timeouts allow, without sleeping:
 *  - `cut`: every request is refused (CacheError "unreachable") and has no effect;
 *  - `stall(pred)`: each request matching `pred` times out on the caller's side at once (CacheError
 *    "timeout") and is queued, NOT applied; `land()` applies the queued requests later, in the
 *    order they were sent (what a stalled memcached or a delaying link does), `drop()` loses them.
 * Requests not cut or stalled go straight through, in call order.
 */
import { CacheError, type Cache } from "../../server/cache/cache.ts";

export type CacheOp = "get" | "getMany" | "set" | "add" | "incr" | "delete";

export type StallRule = (op: CacheOp, key: string) => boolean;

export class LateCache implements Cache {
  cut = false;
  private rules: StallRule[] = [];
  private queued: Array<() => Promise<unknown>> = [];
  /** Requests stalled so far (landed or not). */
  stalled = 0;
  /** Runs (once) just before the first request matching it goes through: another party's move in between. */
  private before: { rule: StallRule; run: () => Promise<void> } | null = null;

  constructor(readonly inner: Cache) {}

  /** Stall every later request matching `rule` until `unstall`; `once` stalls only the first match. */
  stall(rule: StallRule, once = false): void {
    if (!once) {
      this.rules.push(rule);
      return;
    }
    let used = false;
    this.rules.push((op, key) => {
      if (used || !rule(op, key)) return false;
      used = true;
      return true;
    });
  }

  /** Run `run` just before the next request matching `rule` reaches the cache (once). */
  beforeNext(rule: StallRule, run: () => Promise<void>): void {
    this.before = { rule, run };
  }

  unstall(): void {
    this.rules = [];
  }

  /** Apply every stalled request now, in the order they were sent. */
  async land(): Promise<number> {
    const q = this.queued;
    this.queued = [];
    for (const apply of q) await apply();
    return q.length;
  }

  drop(): void {
    this.queued = [];
  }

  get waiting(): number {
    return this.queued.length;
  }

  private async through<T>(op: CacheOp, keys: readonly string[], apply: () => Promise<T>): Promise<T> {
    if (this.cut) throw new CacheError("unreachable", `cut (${op})`);
    const b = this.before;
    if (b !== null && keys.some((k) => b.rule(op, k))) {
      this.before = null;
      await b.run();
    }
    if (keys.some((k) => this.rules.some((r) => r(op, k)))) {
      this.stalled++;
      this.queued.push(apply);
      throw new CacheError("timeout", `stalled (${op} ${keys.join(",")})`);
    }
    return apply();
  }

  get(key: string): Promise<string | null> {
    return this.through("get", [key], () => this.inner.get(key));
  }
  getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return this.through("getMany", keys, () => this.inner.getMany(keys));
  }
  set(key: string, value: string, ttlSec?: number): Promise<void> {
    return this.through("set", [key], () => this.inner.set(key, value, ttlSec));
  }
  add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    return this.through("add", [key], () => this.inner.add(key, value, ttlSec));
  }
  incr(key: string, amount: number): Promise<number | null> {
    return this.through("incr", [key], () => this.inner.incr(key, amount));
  }
  delete(key: string): Promise<boolean> {
    return this.through("delete", [key], () => this.inner.delete(key));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
