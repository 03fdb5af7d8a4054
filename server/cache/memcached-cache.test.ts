/**
 * MemcachedCache on real memcached servers (test/harness/memcached.ts): the Cache contract on one
 * and on two servers, key placement over two servers, and faults (paused, stopped, restarted).
 * The memjs traps have their own file, memjs-traps.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { cacheContract, rejectsWith } from "./cache.contract.ts";
import { HashRing } from "./hash-ring.ts";
import { MemcachedCache } from "./memcached-cache.ts";

/** Fails the test if `promise` has not settled within `ms` (a hang guard, not a performance bound). */
async function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe("MemcachedCache on real memcached", () => {
  let m1: RunningMemcached;
  let m2: RunningMemcached;
  let faulty: RunningMemcached;
  const open: MemcachedCache[] = [];
  const client = (servers: string | string[], timeoutMs = 500): MemcachedCache => {
    const cache = new MemcachedCache({ servers, timeoutMs });
    open.push(cache);
    return cache;
  };

  before(async () => {
    [m1, m2, faulty] = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await Promise.all([m1, m2, faulty].map((m) => m?.stop()));
  });

  cacheContract("MemcachedCache, one server", async () => {
    const cache = client(m1.address);
    return { cache, cleanup: () => cache.close() };
  });

  cacheContract("MemcachedCache, two servers", async () => {
    const cache = client([m1.address, m2.address]);
    return { cache, cleanup: () => cache.close() };
  });

  describe("two servers", () => {
    test("keys spread over both servers by the hash ring, and every client finds each key", async () => {
      const both = client(`${m1.address},${m2.address}`);
      const keys = Array.from({ length: 200 }, (_, i) => `spread:${i}`);
      const sets = async (): Promise<[number, number]> => {
        const [s1, s2] = await Promise.all([m1.stats(), m2.stats()]);
        return [Number(s1.cmd_set), Number(s2.cmd_set)];
      };
      const before = await sets();
      await Promise.all(keys.map((key, i) => both.set(key, `v${i}`)));
      const afterSets = await sets();
      const n1 = afterSets[0] - before[0];
      const n2 = afterSets[1] - before[1];
      assert.equal(n1 + n2, 200);
      assert.ok(n1 > 0 && n2 > 0, `items per server: ${n1} / ${n2}`);

      // Each key is on exactly the server the ring names, found there by a single-server client.
      const ring = new HashRing([m1.address, m2.address]);
      const only1 = await client(m1.address).getMany(keys);
      const only2 = await client(m2.address).getMany(keys);
      for (const key of keys) {
        assert.equal(only1.has(key), ring.serverFor(key) === m1.address, key);
        assert.equal(only2.has(key), ring.serverFor(key) === m2.address, key);
      }
      assert.equal(only1.size, n1);

      // Another node listing the servers in the other order sees every key and counter.
      const reversed = client([m2.address, m1.address]);
      const found = await reversed.getMany(keys);
      assert.equal(found.size, 200);
      keys.forEach((key, i) => assert.equal(found.get(key), `v${i}`));
      await Promise.all(keys.slice(0, 20).map((key) => reversed.set(`${key}:n`, "0")));
      await Promise.all(keys.slice(0, 20).map((key) => both.incr(`${key}:n`, 3)));
      for (const key of keys.slice(0, 20)) assert.equal(await reversed.incr(`${key}:n`, 1), 4);
    });

    test("beside: a key derived from a base lands on the server of the given key, whatever the server order", async () => {
      const ring = new HashRing([m1.address, m2.address]);
      const [both, reversed] = [client([m1.address, m2.address]), client([m2.address, m1.address])];
      const counters = Array.from({ length: 40 }, (_, i) => `bc:c:s:e:a${i}`);
      for (const key of counters) {
        const gen = both.beside(key, key.replace(":c:", ":g:"));
        assert.equal(ring.serverFor(gen), ring.serverFor(key), key);
        assert.equal(reversed.beside(key, key.replace(":c:", ":g:")), gen, "every node derives the same key");
      }
      assert.equal(client(m1.address).beside("k", "base"), "base", "one server: the base itself");
    });

    test("a stopped server fails only the keys it owns", async () => {
      const extra = await startMemcached();
      try {
        const cache = client([m1.address, extra.address], 300);
        const ring = new HashRing([m1.address, extra.address]); // placement is the ring's, whatever the client
        const keys = Array.from({ length: 40 }, (_, i) => `part:${i}`);
        await Promise.all(keys.map((key) => cache.set(key, "x")));
        await extra.stop();
        for (const key of keys) {
          if (ring.serverFor(key) === m1.address) assert.equal(await cache.get(key), "x");
          else await rejectsWith(cache.get(key), "unreachable");
        }
      } finally {
        await extra.stop();
      }
    });
  });

  describe("faults", () => {
    test("paused memcached: operations reject with timeout (not hang); the client recovers on resume", async () => {
      const cache = client(faulty.address, 200);
      await cache.set("f:paused", "1");
      await faulty.pause();
      try {
        await settlesWithin(rejectsWith(cache.get("f:paused"), "timeout"), 5000, "get on a paused server");
        await settlesWithin(rejectsWith(cache.getMany(["f:paused", "f:other"]), "timeout"), 5000, "getMany");
        await settlesWithin(rejectsWith(cache.incr("f:paused", 1), "timeout"), 5000, "incr");
      } finally {
        faulty.resume();
      }
      await waitFor(async () => (await cache.get("f:paused").catch(() => null)) !== null, {
        timeoutMs: 5000,
        what: "reads work after resume",
      });
      assert.ok(["1", "2"].includes((await cache.get("f:paused")) ?? ""), "the timed-out incr applied at most once");
      await cache.set("f:after", "ok");
      assert.equal(await cache.get("f:after"), "ok");
    });

    test("stopped memcached: operations reject with unreachable; the same client works after restart", async () => {
      const cache = client(faulty.address, 200);
      await cache.set("f:stopped", "1");
      await faulty.stop();
      await settlesWithin(rejectsWith(cache.get("f:stopped"), "unreachable"), 5000, "get on a stopped server");
      await rejectsWith(cache.set("f:stopped", "2"), "unreachable");
      await faulty.restart();
      await waitFor(
        async () =>
          await cache.get("f:stopped").then(
            () => true,
            () => false,
          ),
        { timeoutMs: 5000, what: "reconnects" },
      );
      assert.equal(await cache.get("f:stopped"), null, "a restarted memcached is empty");
      assert.equal(await cache.incr("f:stopped", 1), null);
      await cache.set("f:stopped", "3");
      assert.equal(await cache.get("f:stopped"), "3");
    });

    test("close fails pending requests at once, without waiting for their timeout", async () => {
      const cache = new MemcachedCache({ servers: faulty.address, timeoutMs: 60_000 });
      await cache.set("f:close", "1");
      await faulty.pause();
      try {
        const pending = cache.get("f:close");
        await new Promise((r) => setTimeout(r, 20));
        await cache.close();
        await settlesWithin(rejectsWith(pending, "unreachable"), 2000, "pending get after close");
        await rejectsWith(cache.get("f:close"), "unreachable");
      } finally {
        faulty.resume();
      }
    });

    test("timeouts and reconnects leak no sockets; after close none is left", async () => {
      const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
      const baseline = sockets();
      const cache = new MemcachedCache({ servers: faulty.address, timeoutMs: 150 });
      await cache.set("f:leak", "1");
      for (let round = 0; round < 3; round++) {
        await faulty.pause();
        try {
          await rejectsWith(cache.get("f:leak"), "timeout");
          await rejectsWith(cache.incr("f:leak", 1), "timeout");
        } finally {
          faulty.resume();
        }
        await waitFor(
          async () =>
            await cache.get("f:leak").then(
              () => true,
              () => false,
            ),
          { timeoutMs: 5000, what: "recovers" },
        );
        await cache.get("f:leak");
      }
      await waitFor(async () => sockets() <= baseline + 1, {
        timeoutMs: 3000,
        what: `one socket while open (have ${sockets() - baseline})`,
      });
      await cache.close();
      await waitFor(async () => sockets() === baseline, { timeoutMs: 3000, what: `no socket after close (have ${sockets() - baseline})` });
    });

    test("a value larger than memcached's item size rejects bad_value", async () => {
      const cache = client(m1.address);
      await rejectsWith(cache.set("f:huge", "x".repeat(2 * 1024 * 1024)), "bad_value");
      assert.equal(await cache.get("f:huge"), null);
      await cache.set("f:huge", "small");
      assert.equal(await cache.get("f:huge"), "small", "the connection is still in sync");
    });

    test("server lists are validated", () => {
      assert.throws(() => new MemcachedCache({ servers: "" }), RangeError);
      assert.throws(() => new MemcachedCache({ servers: "host:port:extra" }), RangeError);
      assert.deepEqual(new MemcachedCache({ servers: " a , b:1 ,a:11211" }).servers, ["a:11211", "b:1"]);
    });
  });
});
