import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cacheContract, rejectsWith } from "./cache.contract.ts";
import { MemoryCache } from "./memory-cache.ts";

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

cacheContract("MemoryCache (fake clock)", async () => {
  const clock = fakeClock();
  const cache = new MemoryCache({ now: clock.now });
  return { cache, cleanup: () => cache.close(), advance: clock.advance };
});

cacheContract("MemoryCache (real clock)", async () => {
  const cache = new MemoryCache();
  return { cache, cleanup: () => cache.close() };
});

describe("MemoryCache", () => {
  test("ttl is exact to the injected clock's millisecond", async () => {
    const clock = fakeClock();
    const cache = new MemoryCache({ now: clock.now });
    await cache.set("a", "1", 2);
    clock.advance(1999);
    assert.equal(await cache.get("a"), "1");
    clock.advance(1);
    assert.equal(await cache.get("a"), null);
    assert.equal(await cache.delete("a"), false, "an expired key does not count as deleted");
  });

  test("incr keeps the key's expiry time (like memcached)", async () => {
    const clock = fakeClock();
    const cache = new MemoryCache({ now: clock.now });
    await cache.set("c", "1", 1);
    clock.advance(900);
    assert.equal(await cache.incr("c", 1), 2);
    clock.advance(100);
    assert.equal(await cache.incr("c", 1), null);
    assert.equal(await cache.get("c"), null);
  });

  test("set refreshes the ttl; add after expiry succeeds", async () => {
    const clock = fakeClock();
    const cache = new MemoryCache({ now: clock.now });
    await cache.set("k", "1", 1);
    clock.advance(500);
    await cache.set("k", "2", 1);
    clock.advance(700);
    assert.equal(await cache.get("k"), "2");
    clock.advance(300);
    assert.equal(await cache.add("k", "3", 0), true);
    clock.advance(10 ** 9);
    assert.equal(await cache.get("k"), "3");
  });

  test("is bounded: the least recently used key is evicted first", async () => {
    const cache = new MemoryCache({ maxEntries: 3 });
    await cache.set("a", "1");
    await cache.set("b", "2");
    await cache.set("c", "3");
    assert.equal(await cache.get("a"), "1"); // a is now the most recently used
    await cache.set("d", "4");
    assert.equal(await cache.get("b"), null, "b was least recently used");
    assert.deepEqual([...(await cache.getMany(["a", "b", "c", "d"])).keys()], ["a", "c", "d"]);
    assert.equal(await cache.incr("b", 1), null, "an evicted counter reads as missing");
  });

  test("a failed incr (past 2^53-1) leaves the counter unchanged", async () => {
    const cache = new MemoryCache();
    await cache.set("m", String(Number.MAX_SAFE_INTEGER));
    await rejectsWith(cache.incr("m", 1), "bad_value");
    assert.equal(await cache.get("m"), String(Number.MAX_SAFE_INTEGER));
  });

  test("rejects a non-positive size bound", () => {
    assert.throws(() => new MemoryCache({ maxEntries: 0 }), RangeError);
  });
});
