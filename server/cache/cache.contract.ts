/**
 * The behaviour every Cache implementation must share, as node:test tests. Each implementation's
 * test file calls cacheContract once per configuration (memcached-backed ones on a real memcached).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, test } from "node:test";
import { waitFor } from "../../test/harness/wait.ts";
import { CacheError, type Cache, type CacheErrorCode } from "./cache.ts";

export interface CacheUnderTest {
  cache: Cache;
  /** Releases what makeCache created (the contract may already have closed `cache`). */
  cleanup(): Promise<void>;
  /** Moves the cache's fake clock forward; when absent, TTL tests wait in real time. */
  advance?: (ms: number) => void;
}

/** Resolves when the rejection is a CacheError with `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: CacheErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CacheError, `expected a CacheError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const MAX = Number.MAX_SAFE_INTEGER;

export function cacheContract(name: string, makeCache: () => Promise<CacheUnderTest>): void {
  describe(`Cache contract: ${name}`, () => {
    let ut: CacheUnderTest;
    let cache: Cache;
    let prefix: string;
    const k = (s: string): string => `${prefix}:${s}`;

    beforeEach(async () => {
      ut = await makeCache();
      cache = ut.cache;
      prefix = `t${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await ut.cleanup();
    });

    test("get of a missing key resolves null; set then get round-trips any string", async () => {
      assert.equal(await cache.get(k("missing")), null);
      const values = ["plain", "", "ü ✓ 🎉 with spaces\r\nand lines", "x".repeat(10_000), "  12  ", "12 x "];
      for (const [i, value] of values.entries()) {
        await cache.set(k(`v${i}`), value);
        assert.equal(await cache.get(k(`v${i}`)), value);
      }
      await cache.set(k("v0"), "overwritten");
      assert.equal(await cache.get(k("v0")), "overwritten");
      const longKey = k("").padEnd(250, "k");
      await cache.set(longKey, "250-byte key");
      assert.equal(await cache.get(longKey), "250-byte key");
      await cache.set(k("ключ"), "utf-8 key");
      assert.equal(await cache.get(k("ключ")), "utf-8 key");
    });

    test("getMany returns the existing keys only, once each", async () => {
      await cache.set(k("a"), "1");
      await cache.set(k("b"), "2");
      const found = await cache.getMany([k("a"), k("missing"), k("b"), k("a")]);
      assert.deepEqual([...found.entries()].sort(), [
        [k("a"), "1"],
        [k("b"), "2"],
      ]);
      assert.equal((await cache.getMany([])).size, 0);
      assert.equal((await cache.getMany([k("missing")])).size, 0);
    });

    test("add stores only when absent and never overwrites", async () => {
      assert.equal(await cache.add(k("a"), "first"), true);
      assert.equal(await cache.get(k("a")), "first");
      assert.equal(await cache.add(k("a"), "second"), false);
      assert.equal(await cache.get(k("a")), "first");
      assert.equal(await cache.delete(k("a")), true);
      assert.equal(await cache.add(k("a"), "third"), true);
      assert.equal(await cache.get(k("a")), "third");
    });

    test("incr adds to an existing counter and resolves the new value", async () => {
      await cache.set(k("c"), "10");
      assert.equal(await cache.incr(k("c"), 5), 15);
      assert.equal(await cache.incr(k("c"), 0), 15);
      assert.equal(await cache.get(k("c")), "15");
      assert.deepEqual(await cache.getMany([k("c")]), new Map([[k("c"), "15"]]));
    });

    test("incr of a missing key resolves null and does not create it", async () => {
      assert.equal(await cache.incr(k("nope"), 7), null);
      assert.equal(await cache.get(k("nope")), null);
      assert.equal(await cache.incr(k("nope"), 1), null);
      assert.equal(await cache.add(k("nope"), "100"), true, "the key must still be absent");
      assert.equal(await cache.incr(k("nope"), 1), 101);
    });

    test("counters beyond 2^32 stay exact up to 2^53-1; beyond that incr rejects bad_value", async () => {
      await cache.set(k("big"), String(2 ** 32 - 1));
      assert.equal(await cache.incr(k("big"), 1), 2 ** 32);
      assert.equal(await cache.incr(k("big"), 5_000_000_000), 2 ** 32 + 5_000_000_000);
      assert.equal(await cache.get(k("big")), String(2 ** 32 + 5_000_000_000));
      await cache.set(k("max"), String(MAX - 10));
      assert.equal(await cache.incr(k("max"), 10), MAX);
      await rejectsWith(cache.incr(k("max"), 1), "bad_value");
    });

    test("counters with leading zeros or padding spaces increment and read back as plain digits", async () => {
      await cache.set(k("z"), "00005");
      assert.equal(await cache.incr(k("z"), 1), 6);
      assert.equal(await cache.get(k("z")), "6");
      assert.equal(await cache.incr(k("z"), 10), 16);
      assert.equal(await cache.get(k("z")), "16");
      await cache.set(k("p"), "12   "); // what memcached's in-place padding looks like
      assert.equal(await cache.get(k("p")), "12");
      assert.deepEqual(await cache.getMany([k("p")]), new Map([[k("p"), "12"]]));
      assert.equal(await cache.incr(k("p"), 1), 13);
    });

    test("incr of a non-numeric value rejects bad_value and leaves it unchanged", async () => {
      for (const value of ["abc", "-5", "1.5", ""]) {
        await cache.set(k("s"), value);
        await rejectsWith(cache.incr(k("s"), 1), "bad_value");
        assert.equal(await cache.get(k("s")), value);
      }
    });

    test("concurrent increments are each applied exactly once", async () => {
      await cache.set(k("n"), "0");
      const results = await Promise.all(Array.from({ length: 50 }, () => cache.incr(k("n"), 1)));
      assert.deepEqual(
        [...results].sort((a, b) => (a ?? 0) - (b ?? 0)),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(await cache.get(k("n")), "50");
    });

    test("delete removes a key and says whether it existed", async () => {
      await cache.set(k("d"), "x");
      assert.equal(await cache.delete(k("d")), true);
      assert.equal(await cache.get(k("d")), null);
      assert.equal(await cache.delete(k("d")), false);
      assert.equal(await cache.incr(k("d"), 1), null);
    });

    test("keys written with a ttl expire; ttl 0 or absent never", async () => {
      await cache.set(k("t1"), "a", 1);
      assert.equal(await cache.add(k("t2"), "b", 1), true);
      await cache.set(k("t3"), "c", 0);
      await cache.set(k("t4"), "d");
      assert.deepEqual((await cache.getMany([k("t1"), k("t2"), k("t3"), k("t4")])).size, 4);
      if (ut.advance) {
        ut.advance(999);
        assert.equal(await cache.get(k("t1")), "a", "still there just before its ttl");
        ut.advance(2);
      }
      await waitFor(async () => (await cache.getMany([k("t1"), k("t2")])).size === 0, { timeoutMs: 6000, what: "ttl keys expire" });
      assert.equal(await cache.incr(k("t1"), 1), null);
      assert.equal(await cache.add(k("t1"), "again"), true);
      assert.equal(await cache.get(k("t3")), "c");
      assert.equal(await cache.get(k("t4")), "d");
    });

    test("invalid arguments reject bad_value", async () => {
      for (const key of ["", "has space", "tab\there", "nl\n", "x".repeat(251), "é".repeat(126)]) {
        await rejectsWith(cache.get(key), "bad_value");
        await rejectsWith(cache.set(key, "v"), "bad_value");
        await rejectsWith(cache.getMany([k("ok"), key]), "bad_value");
      }
      await cache.set(k("c"), "1");
      for (const amount of [-1, 1.5, Number.NaN, 2 ** 53]) await rejectsWith(cache.incr(k("c"), amount), "bad_value");
      for (const ttl of [-1, 1.5, Number.POSITIVE_INFINITY]) {
        await rejectsWith(cache.set(k("c"), "2", ttl), "bad_value");
        await rejectsWith(cache.add(k("new"), "2", ttl), "bad_value");
      }
      assert.equal(await cache.get(k("c")), "1");
    });

    test("after close every operation rejects with CacheError unreachable", async () => {
      await cache.set(k("a"), "1");
      await cache.close();
      await rejectsWith(cache.get(k("a")), "unreachable");
      await rejectsWith(cache.getMany([k("a")]), "unreachable");
      await rejectsWith(cache.set(k("a"), "2"), "unreachable");
      await rejectsWith(cache.incr(k("a"), 1), "unreachable");
      await cache.close(); // idempotent
    });
  });
}
