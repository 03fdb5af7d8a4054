/**
 * SharedStore: the Store contract on memory backends and on real memcached + MariaDB, and the
 * recovery rules (re-seeding a lost key, stalled increments, reconciliation) step by step.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CacheError, type Cache } from "../cache/cache.ts";
import { DualCache } from "../cache/dual-cache.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { silentLogger } from "../ops/logger.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { MysqlRecord } from "../record/mysql-record.ts";
import type { Record } from "../record/record.ts";
import { startMariaDb, type MariaDb } from "../../test/harness/mariadb.ts";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { SharedStore } from "./shared-store.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { pollUntil } from "../../test/harness/wait.ts";
import { sharingContract } from "./store.contract.ts";

async function node(global: Cache, record: Record, nodeId: string, durable = false): Promise<SharedStore> {
  const s = new SharedStore(
    new DualCache(global, { l1TtlMs: 50 }),
    global,
    record,
    { nodeId, tickMs: 100, persistIntervalMs: 3_600_000, reconcileDelayMs: 0, durable },
    silentLogger,
  );
  await s.start();
  return s;
}

const total = async (s: SharedStore, delta = 0) =>
  (await s.flush([{ show: "s", epoch: "e", deltas: delta ? [{ act: "a", delta }] : [], acts: ["a"] }])).get(epochKey("s", "e"))?.get("a");

/** A view of `x` whose close is recorded; `forward` says whether it also closes `x` (false when peers share `x`). */
function closeSpy<T extends { close(): Promise<void> }>(x: T, forward: boolean): T & { closeCalled: boolean } {
  const spy = Object.create(x) as T & { closeCalled: boolean };
  spy.closeCalled = false;
  spy.close = async () => {
    spy.closeCalled = true;
    if (forward) await x.close();
  };
  return spy;
}

sharingContract("SharedStore (memory cache + memory record)", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  const [cache, rec] = [closeSpy(global, false), closeSpy(record, false)];
  const [store, peer] = [await node(cache, rec, "n1"), await node(global, record, "n2")];
  return {
    store,
    peer,
    persistNow: () => store.writer.writeOnce(),
    afterClose: async () => ({ kept: (await record.countTotals("s", "e")).get("a") ?? 0, released: cache.closeCalled && rec.closeCalled }),
    cleanup: async () => {
      await store.close();
      await peer.close();
    },
  };
});

let mc: RunningMemcached;
let db: MariaDb;
before(async () => {
  [mc, db] = await Promise.all([startMemcached(), startMariaDb()]);
});
after(async () => {
  await Promise.all([mc.stop(), db.stop()]);
});

sharingContract("SharedStore (real memcached + MariaDB)", async () => {
  await mc.flushAll();
  const url = db.freshUrl();
  const rec = closeSpy(new MysqlRecord(url), true);
  await rec.migrate();
  const cache = closeSpy(new MemcachedCache({ servers: mc.address }), true);
  const store = await node(cache, rec, "n1", true);
  const peer = await node(new MemcachedCache({ servers: mc.address }), new MysqlRecord(url), "n2", true);
  let closed = false;
  return {
    store,
    peer,
    persistNow: () => store.writer.writeOnce(),
    afterClose: async () => {
      closed = true;
      const durable = await peer.durableTotals("s", "e"); // another connection: the record itself
      return { kept: durable?.get("a") ?? 0, released: cache.closeCalled && rec.closeCalled };
    },
    cleanup: async () => {
      if (!closed) await store.close();
      await peer.close();
    },
  };
});

test("durableTotals: the record's totals when it is durable, null over MemoryRecord", async () => {
  const record = new MemoryRecord();
  await record.migrate();
  const [durable, not] = [await node(new MemoryCache(), record, "d", true), await node(new MemoryCache(), record, "m")];
  await total(durable, 3);
  await durable.writer.writeOnce();
  assert.deepEqual(Object.fromEntries((await durable.durableTotals("s", "e")) ?? []), { a: 3 });
  assert.equal(await not.durableTotals("s", "e"), null);
});

test("a lost key is re-seeded from the record plus own unpersisted buzzes; reconciliation makes it exact, never over", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  const [a, b] = [await node(global, record, "a"), await node(global, record, "b")];
  assert.equal(await total(a, 10), 10);
  assert.equal(await total(b, 5), 15);
  await a.writer.writeOnce(); // the record has a's 10; b's 5 are only in the cache
  await global.delete("bc:c:s:e:a"); // memcached flushed
  assert.equal(await total(a, 1), 11, "seeded with record 10 + a's unpersisted 1");
  await total(b, 2);
  assert.equal(await global.get("bc:c:s:e:a"), "13", "b's earlier 5 are missing from the new key, never doubled");
  await a.writer.writeOnce();
  await b.writer.writeOnce();
  assert.equal((await record.countTotals("s", "e")).get("a"), 18, "the record has every buzz");
  assert.equal(await a.reconcile("s", "e", ["a"], 1), 5, "reconciliation raises by what the lost key took");
  assert.equal(await b.reconcile("s", "e", ["a"], 1), null, "only one node reconciles a change");
  await pollUntil(
    () => total(b),
    (v) => v === 18,
    "b reads 18 once its L1 entry expires",
  );
  assert.equal(await total(a), 18);
});

test("both nodes find the key missing: the loser adds its unpersisted buzzes to the winner's seed", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  const [a, b] = [await node(global, record, "a"), await node(global, record, "b")];
  await Promise.all([total(a, 3), total(b, 4)]);
  await pollUntil(
    () => total(a),
    (v) => v === 7,
    "a reads both nodes' buzzes",
  );
  await a.writer.writeOnce();
  await b.writer.writeOnce();
  await global.delete("bc:c:s:e:a");
  await Promise.all([total(a, 1), total(b, 1)]);
  assert.equal(await global.get("bc:c:s:e:a"), "9", "record 7 + one seed + one incr");
  await pollUntil(
    () => total(a),
    (v) => v === 9,
    "a reads 9",
  );
});

test("a batch due while a seed awaits memcached waits for it: another node's seed from the record is never counted twice", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  // b's `add` stops at a gate, as a slow memcached link would hold it.
  let openGate!: () => void;
  let atGate!: () => void;
  const reachedGate = new Promise<void>((r) => (atGate = r));
  const gated = Object.create(global) as MemoryCache;
  let armed = false;
  gated.add = async (key: string, value: string, ttl?: number) => {
    if (!armed || key !== "bc:c:s:e:a") return global.add(key, value, ttl); // only the counter's add (its label's goes first)
    armed = false;
    atGate();
    await new Promise<void>((r) => (openGate = r));
    return global.add(key, value, ttl);
  };
  const [a, b] = [await node(global, record, "a"), await node(gated, record, "b")];
  assert.equal(await total(b, 5), 5, "b's 5 buzzes are in memcached, not yet in the record");
  await global.delete("bc:c:s:e:a"); // memcached lost the key
  armed = true;
  const bSeeds = total(b, 1); // b's incr finds it missing: b seeds record (0) + its own 6
  await reachedGate;
  await b.writer.writeOnce(); // b's persist interval comes round while its seed is in flight
  assert.equal(await total(a), (await record.countTotals("s", "e")).get("a") ?? 0, "a seeds from the record as it stands");
  openGate();
  await bSeeds; // b lost the add: it adds its own unpersisted share to a's seed
  assert.equal(await global.get("bc:c:s:e:a"), "6", "6 buzzes in all, none counted twice");
  await b.writer.writeOnce();
  assert.equal((await record.countTotals("s", "e")).get("a"), 6);
});

test("a timed-out increment is taken as applied (a stalled memcached applies it later), never re-sent", async () => {
  const inner = new MemoryCache();
  let stall = false;
  const stalling: Cache = Object.assign(Object.create(inner) as Cache, {
    incr: async (key: string, amount: number) => {
      const v = await inner.incr(key, amount); // applied...
      if (stall) throw new CacheError("timeout", "memcached did not answer in time"); // ...but the reply is lost
      return v;
    },
  });
  const record = new MemoryRecord();
  await record.migrate();
  const a = await node(stalling, record, "a");
  await total(a, 4);
  stall = true;
  await total(a, 6);
  await total(a, 1);
  stall = false;
  assert.equal(await total(a, 0), 11);
  assert.equal(await inner.get("bc:c:s:e:a"), "11", "each buzz applied exactly once");
  assert.equal(a.health().ready, true, "healthy again once increments answer");
});

test("close commits everything, even buzzes the cache never took", async () => {
  const inner = new MemoryCache();
  const down: Cache = Object.assign(Object.create(inner) as Cache, {
    incr: async () => {
      throw new CacheError("unreachable", "connection refused");
    },
    getMany: async () => {
      throw new CacheError("unreachable", "connection refused");
    },
  });
  const record = new MemoryRecord();
  await record.migrate();
  const kept: Record = Object.assign(Object.create(record) as Record, { close: async () => {} });
  const a = await node(down, kept, "a");
  await total(a, 9);
  assert.equal(a.health().ready, false);
  assert.match(a.health().checks.memcached ?? "", /unreachable/);
  await a.close();
  assert.equal((await record.countTotals("s", "e")).get("a"), 9);
});

test("after a close the reconciling node keeps raising live to the record: a batch that reaches it late is not left out", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  const [a, b] = [await node(global, record, "a"), await node(global, record, "b")];
  await total(a, 10);
  await total(b, 5);
  await a.writer.writeOnce();
  await global.delete("bc:c:s:e:a"); // memcached flushed: b's 5 were applied to the lost key only
  assert.equal(await total(a, 1), 11, "seeded with record 10 + a's unpersisted 1");
  await a.writer.writeOnce();
  a.votingClosed("s", "e", ["a"], 1);
  await pollUntil(
    () => Promise.resolve(a.counts.reconcilePasses),
    (n) => n >= 1,
    "a's first pass (the record at 11: nothing to raise)",
  );
  assert.equal(a.counts.raised, 0);
  await b.writer.writeOnce(); // b was cut from the record until now: its 5 arrive after the first pass
  assert.equal((await record.countTotals("s", "e")).get("a"), 16);
  await pollUntil(
    () => global.get("bc:c:s:e:a"),
    (v) => v === "16",
    "a later pass raises live to the record",
  );
  assert.equal(a.counts.raised, 5, "raised by exactly what the lost key took, once");
  await Promise.all([a.close(), b.close()]);
});

test("a later close of the same act hands its reconciliation over: the earlier owner stops raising it", async () => {
  const global = new MemoryCache();
  const record = new MemoryRecord();
  await record.migrate();
  const [a, b] = [await node(global, record, "a"), await node(global, record, "b")];
  await total(a, 3);
  a.votingClosed("s", "e", ["a"], 1);
  await pollUntil(
    () => Promise.resolve(a.counts.reconcilePasses),
    (n) => n >= 2,
    "a owns close 1 and passes again",
  );
  b.votingClosed("s", "e", ["a"], 2); // b hears close 2 first and wins its lock
  a.votingClosed("s", "e", ["a"], 2);
  const aPasses = a.counts.reconcilePasses;
  await pollUntil(
    () => Promise.resolve(b.counts.reconcilePasses),
    (n) => n >= 4,
    "b owns close 2 and passes",
  );
  assert.ok(a.counts.reconcilePasses <= aPasses + 1, `a stopped (at most the pass in flight): ${aPasses} -> ${a.counts.reconcilePasses}`);
  await Promise.all([a.close(), b.close()]);
});
