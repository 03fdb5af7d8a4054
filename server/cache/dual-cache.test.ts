import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import type { Cache } from "./cache.ts";
import { cacheContract, rejectsWith } from "./cache.contract.ts";
import { DualCache, type DualCacheOptions } from "./dual-cache.ts";
import { MemcachedCache } from "./memcached-cache.ts";
import { MemoryCache } from "./memory-cache.ts";

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 5_000_000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A MemoryCache that counts calls and can hold reads until released (test double for ordering). */
class ObservedCache extends MemoryCache {
  readonly calls: Record<string, number> = {};
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  holdReads(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  releaseReads(): void {
    this.release?.();
    this.gate = undefined;
  }
  override async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    this.calls.getMany = (this.calls.getMany ?? 0) + 1;
    const result = await super.getMany(keys); // read now, answer when released
    await this.gate;
    return result;
  }
}

function setup(options: DualCacheOptions = {}): { dual: DualCache; global: ObservedCache; advance: (ms: number) => void } {
  const clock = fakeClock();
  const global = new ObservedCache({ now: clock.now });
  return { dual: new DualCache(global, { now: clock.now, ...options }), global, advance: clock.advance };
}

cacheContract("DualCache over MemoryCache", async () => {
  const { dual, advance } = setup();
  return { cache: dual, cleanup: () => dual.close(), advance };
});

cacheContract("DualCache over MemoryCache, caching misses", async () => {
  const { dual, advance } = setup({ cacheMisses: true });
  return { cache: dual, cleanup: () => dual.close(), advance };
});

describe("DualCache L1", () => {
  test("repeated reads are served locally until the L1 ttl passes, then re-read globally", async () => {
    const { dual, global, advance } = setup({ l1TtlMs: 1000 });
    await global.set("k", "1");
    assert.equal(await dual.get("k"), "1");
    await global.set("k", "2"); // another node's write
    advance(999);
    assert.equal(await dual.get("k"), "1", "stale within the L1 ttl");
    assert.deepEqual(await dual.getMany(["k"]), new Map([["k", "1"]]));
    advance(1);
    assert.equal(await dual.get("k"), "2");
    assert.deepEqual(
      { ...dual.stats },
      {
        l1Hits: 2,
        l1Misses: 2,
        globalGets: 2,
        globalSets: 0,
        globalAdds: 0,
        globalIncrs: 0,
        globalDeletes: 0,
        globalErrors: 0,
      },
    );
  });

  test("getMany makes one global getMany for the L1 misses only and fills L1", async () => {
    const { dual, global } = setup();
    await Promise.all([global.set("a", "1"), global.set("b", "2"), global.set("c", "3")]);
    await dual.get("a");
    global.calls.getMany = 0;
    const found = await dual.getMany(["a", "b", "c", "missing", "b"]);
    assert.deepEqual(
      found,
      new Map([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]),
    );
    assert.equal(global.calls.getMany, 1);
    assert.equal(dual.stats.globalGets, 1 + 3, "a once before, then b, c, missing");
    assert.deepEqual(
      await dual.getMany(["a", "b", "c"]),
      new Map([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]),
    );
    assert.equal(global.calls.getMany, 1, "all from L1");
    await dual.get("missing");
    assert.equal(global.calls.getMany, 2, "misses are not cached by default");
  });

  test("set, add and incr refresh L1 with the confirmed value; delete and failed adds drop it", async () => {
    const { dual, global } = setup();
    await dual.set("k", "10");
    assert.equal(await dual.get("k"), "10");
    assert.equal(await dual.incr("k", 5), 15);
    assert.equal(await dual.get("k"), "15");
    assert.equal(await dual.add("n", "1"), true);
    assert.equal(await dual.get("n"), "1");
    assert.equal(global.calls.getMany, undefined, "every read above came from L1");

    await global.set("n", "7"); // changed elsewhere
    assert.equal(await dual.add("n", "x"), false);
    assert.equal(await dual.get("n"), "7", "a failed add dropped the local copy");
    assert.equal(await dual.delete("k"), true);
    assert.equal(await dual.get("k"), null);
    assert.equal(await dual.incr("k", 1), null);
    await global.set("k", "3");
    assert.equal(await dual.get("k"), "3", "incr of a missing key dropped the local copy");
    assert.deepEqual([dual.stats.globalSets, dual.stats.globalAdds, dual.stats.globalIncrs, dual.stats.globalDeletes], [1, 2, 2, 1]);
  });

  test("a write's ttl caps its L1 lifetime", async () => {
    const { dual, advance } = setup({ l1TtlMs: 5000 });
    await dual.set("t", "v", 1);
    advance(999);
    assert.equal(await dual.get("t"), "v");
    advance(1);
    assert.equal(await dual.get("t"), null);
  });

  test("a read in flight during a write does not put its older value into L1", async () => {
    const { dual, global } = setup();
    await global.set("c", "1");
    global.holdReads();
    const read = dual.get("c"); // reads "1", answer held
    assert.equal(await dual.incr("c", 1), 2);
    global.releaseReads();
    assert.equal(await read, "1", "the caller still gets what it read");
    assert.equal(await dual.get("c"), "2", "L1 kept the newer value");
  });

  test("L1 is bounded: past maxEntries the least recently used key is read globally again", async () => {
    const { dual, global } = setup({ maxEntries: 2 });
    await Promise.all(["a", "b", "c"].map((k) => global.set(k, k)));
    await dual.getMany(["a", "b", "c"]); // a, then b, then c enter L1; a is pushed out
    global.calls.getMany = 0;
    assert.deepEqual(
      await dual.getMany(["b", "c"]),
      new Map([
        ["b", "b"],
        ["c", "c"],
      ]),
    );
    assert.equal(global.calls.getMany, 0, "b and c are held locally");
    assert.equal(await dual.get("a"), "a");
    assert.equal(global.calls.getMany, 1, "a was evicted: one global read");
    await dual.get("c"); // c is now the most recently used; reading a evicted b
    await dual.get("b");
    assert.equal(global.calls.getMany, 2, "b was the least recently used");
    assert.equal(dual.stats.l1Misses, 3 + 2);
  });

  test("l1TtlMs 0 disables L1; cacheMisses remembers missing keys", async () => {
    const off = setup({ l1TtlMs: 0 });
    await off.dual.set("k", "1");
    await off.dual.get("k");
    await off.dual.get("k");
    assert.equal(off.global.calls.getMany, 2);
    assert.equal(off.dual.stats.l1Hits, 0);

    const neg = setup({ cacheMisses: true });
    assert.equal(await neg.dual.get("m"), null);
    assert.equal(await neg.dual.get("m"), null);
    assert.equal(neg.global.calls.getMany, 1);
    assert.equal(neg.dual.stats.l1Hits, 1);
    assert.equal(await neg.dual.add("m", "1"), true);
    assert.equal(await neg.dual.get("m"), "1");
  });
});

describe("DualCache over real memcached", () => {
  let mc: RunningMemcached;
  const open: Cache[] = [];
  const dualOver = (server: string, timeoutMs = 500): DualCache => {
    const dual = new DualCache(new MemcachedCache({ servers: server, timeoutMs }));
    open.push(dual);
    return dual;
  };
  before(async () => {
    mc = await startMemcached();
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await mc?.stop();
  });

  cacheContract("DualCache over MemcachedCache", async () => {
    const dual = new DualCache(new MemcachedCache({ servers: mc.address }));
    return { cache: dual, cleanup: () => dual.close() };
  });

  test("reads within the L1 ttl cost memcached one get in total (memcached's own stats)", async () => {
    const writer = dualOver(mc.address); // another node: its writes never reach this node's L1
    await writer.set("show:x:act-1", "41");
    await writer.incr("show:x:act-1", 1);
    const dual = dualOver(mc.address);
    const before = Number((await mc.stats()).cmd_get);
    for (let i = 0; i < 100; i++) assert.equal(await dual.get("show:x:act-1"), "42");
    assert.equal(Number((await mc.stats()).cmd_get) - before, 1);
    assert.equal(dual.stats.l1Hits, 99);
  });

  test("while memcached is down: L1 still serves what it holds, other reads and all writes reject", async () => {
    const dual = dualOver(mc.address, 200);
    await dual.set("down:a", "1");
    await dual.set("down:b", "2");
    await mc.pause();
    try {
      assert.equal(await dual.get("down:a"), "1", "served from L1");
      await rejectsWith(dual.get("down:other"), "timeout");
      await rejectsWith(dual.set("down:b", "3"), "timeout");
      assert.equal(dual.stats.globalErrors, 2);
    } finally {
      mc.resume();
    }
    const b = await dual.get("down:b"); // the failed set dropped L1: this read went to memcached
    assert.ok(b === "2" || b === "3", `b is what memcached holds, got ${b}`);
    assert.equal(dual.stats.globalGets, 2);
  });
});

test("DualCache.metrics exports every stat under its documented name", async () => {
  const { dual } = setup();
  await dual.set("k", "1");
  await dual.get("k");
  await dual.get("missing");
  const fams = new Map(dual.metrics().map((f) => [f.name, f]));
  const op = (name: string) => fams.get("buzzcast_global_cache_ops_total")?.samples.find((s) => s.labels?.op === name)?.value;
  assert.deepEqual(["gets", "sets", "adds", "incrs", "deletes", "errors"].map(op), [1, 1, 0, 0, 0, 0]);
  assert.equal(fams.get("buzzcast_l1_hits_total")?.samples[0]?.value, 1);
  assert.equal(fams.get("buzzcast_l1_misses_total")?.samples[0]?.value, 1);
});
