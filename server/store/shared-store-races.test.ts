/**
 * SharedStore under the races memcached timeouts and voting changes allow, driven step by step
 * (no sleeps): the real store, claim decider, record writer and reconciliation, over in-process
 * backends whose replies the test controls (test/harness/late-cache.ts: a request can be refused,
 * or time out on the caller's side and still be applied later). Each test ends with every count
 * settled and checks live == record == audit == buzzes acknowledged as counted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Cache } from "../cache/cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { MysqlRecord } from "../record/mysql-record.ts";
import type { Record } from "../record/record.ts";
import { startMariaDb, type MariaDb } from "../../test/harness/mariadb.ts";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { LateCache } from "../../test/harness/late-cache.ts";
import { ClaimOutcomes } from "../../test/harness/claim-outcomes.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { SharedStore } from "./shared-store.ts";
import { sharedStoreNode } from "../../test/harness/shared-store-node.ts";
import type { Claim } from "./store.ts";

const KEY = "bc:c:s:e:a";

interface Clock {
  now: number;
}

const node = (global: Cache, record: Record, nodeId: string, clock?: Clock): Promise<SharedStore> =>
  sharedStoreNode(global, record, nodeId, clock ? { now: () => clock.now } : {});

const claim = (viewer: string): Claim => ({ act: "a", viewer, atMs: 1 });
/** Every decision the stores' flushes returned (tick() notes each). */
const outcomes = new ClaimOutcomes();

/** One tick of `s`: `delta` plain buzzes and these claims; returns the act's total. */
async function tick(s: SharedStore, claims: Claim[] = [], delta = 0): Promise<number | undefined> {
  const got = outcomes.note(await s.flush([{ show: "s", epoch: "e", deltas: delta ? [{ act: "a", delta }] : [], claims, acts: ["a"] }]));
  return got.totals.get(epochKey("s", "e"))?.get("a");
}

async function backends(): Promise<{ global: MemoryCache; record: MemoryRecord }> {
  const record = new MemoryRecord();
  await record.migrate();
  return { global: new MemoryCache(), record };
}

const recorded = async (r: Record) => (await r.countTotals("s", "e")).get("a") ?? 0;
const audited = async (r: Record) => (await r.auditTotals("s", "e")).get("a") ?? 0;
const live = async (c: Cache) => Number((await c.get(KEY)) ?? "NaN");

/**
 * Ticks of a node that decided claims of the epoch in the cache, as every node of a fleet ticks:
 * it learns that the epoch went to record mode, and leaves once its decisions are committed (until
 * then the record decides nothing of the epoch).
 */
async function learnRecordMode(s: SharedStore): Promise<void> {
  await tick(s);
  await tick(s);
}

/** Persist both nodes, settle, and check live == record == audit == `want`. */
async function exact(global: Cache, record: Record, nodes: SharedStore[], want: number): Promise<void> {
  for (const n of nodes) await tick(n);
  for (const n of nodes) await n.writer.writeOnce();
  assert.equal(await recorded(record), want, "record");
  assert.equal(await audited(record), want, "audit log");
  assert.equal(await live(global), want, "live");
}

test("record-decided claims of a node cut from memcached: a close's reconciliation never makes live exceed the record", async () => {
  const { global, record } = await backends();
  const cut = new LateCache(global);
  const [a, b] = [await node(cut, record, "a"), await node(global, record, "b")];
  const early = [claim("v:1"), claim("v:2"), claim("v:3")];
  await tick(b, early);
  await tick(a, [claim("v:4")]);
  await a.writer.writeOnce();
  await b.writer.writeOnce();
  await global.flushAll(); // memcached flushed: claim keys, sentinel and counter gone
  const first = claim("v:5");
  await tick(a, [first]); // a finds the sentinel gone: this epoch is record-decided on a from now on
  assert.equal(outcomes.of(first), "pending");
  await learnRecordMode(b);
  cut.cut = true; // a loses memcached
  const late = [claim("v:6"), claim("v:7"), claim("v:8"), claim("v:9"), claim("v:10")];
  await tick(a, late);
  await a.writer.writeOnce(); // the record decides a's 6 claims
  await tick(a);
  for (const c of [first, ...late]) assert.equal(outcomes.of(c), "counted", c.viewer);
  await tick(b); // b re-seeds the lost counter from the record
  assert.equal(await b.reconcile("s", "e", ["a"], 7), 0, "the close: nothing to raise yet, a's claims are not in the record's counts");
  cut.cut = false; // a reaches memcached again and applies what it holds
  await exact(global, record, [a, b], 10);
  assert.equal(await b.reconcile("s", "e", ["a"], 8), 0);
  assert.equal(await live(global), 10, "10 viewers, each counted once");
});

test("close then reopen: a pass of the earlier close while counting runs again never over-counts", async () => {
  const { global, record } = await backends();
  const [a, b] = [await node(global, record, "a"), await node(global, record, "b")];
  await tick(b, [claim("v:1")]);
  await tick(a, [claim("v:2")]);
  await a.writer.writeOnce();
  await b.writer.writeOnce();
  await global.flushAll();
  await tick(a, [claim("v:3")]); // record-decided on a from now on
  await learnRecordMode(b);
  b.votingClosed("s", "e", ["a"], 3); // close (b owns its passes) ...
  a.votingClosed("s", "e", ["a"], 3);
  b.votingOpened("s", "e", ["a"], 4); // ... and reopen at once
  a.votingOpened("s", "e", ["a"], 4);
  assert.deepEqual(b.reconciler.owned("s", "e"), [], "the reopen ended the close's passes");
  const more = [claim("v:4"), claim("v:5")];
  await tick(a, more);
  await a.writer.writeOnce(); // the record accepts a's claims
  await tick(b); // b re-seeds the counter
  // A pass that would still run now (the race reopening used to leave open) raises nothing:
  assert.equal(await b.reconcile("s", "e", ["a"], 3), 0);
  await tick(a);
  for (const c of more) assert.equal(outcomes.of(c), "counted");
  await exact(global, record, [a, b], 5);
});

test("a re-seed add that times out and lands late is not applied twice", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const clock = { now: 1_000_000 };
  const a = await node(slow, record, "a", clock);
  assert.equal(await tick(a, [], 10), 10);
  await a.writer.writeOnce();
  await global.delete(KEY); // memcached lost the counter
  slow.stall((op, key) => op === "add" && key === KEY, true);
  await tick(a, [], 5); // incr finds it missing; the seed add (record 10 + own 5) times out
  assert.equal(await slow.land(), 1, "the seed lands late");
  assert.equal(await tick(a), 15);
  assert.equal(await live(global), 15, "the late seed is the only write of those 5");
  await a.writer.writeOnce();
  assert.equal(await recorded(record), 10, "the 5 in doubt are not persisted while they may still land");
  clock.now += 60_000;
  await exact(global, record, [a], 15);
});

test("a re-seed add that times out and never lands: live is short until the close, then exact", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const clock = { now: 1_000_000 };
  const a = await node(slow, record, "a", clock);
  await tick(a, [], 10);
  await a.writer.writeOnce();
  await global.delete(KEY);
  slow.stall((op, key) => op === "add" && key === KEY, true);
  await tick(a, [], 5);
  slow.drop();
  await tick(a); // seeds again, without the 5 in doubt (they may still land)
  assert.equal(await live(global), 10);
  await a.writer.writeOnce();
  assert.equal(await recorded(record), 10, "the 5 in doubt are not persisted while they may still land");
  clock.now += 60_000; // past the doubt window: they can no longer land
  await tick(a);
  await a.writer.writeOnce();
  assert.equal(await recorded(record), 15);
  assert.equal(await a.reconcile("s", "e", ["a"], 2), 5, "the close raises live by the 5 that never landed");
  await exact(global, record, [a], 15);
});

test("a seed-conflict incr that times out and lands late is not applied twice", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const clock = { now: 1_000_000 };
  const [a, b] = [await node(global, record, "a", clock), await node(slow, record, "b", clock)];
  await tick(a, [], 3);
  await a.writer.writeOnce();
  await global.delete(KEY);
  // b finds the key missing; just before its seed add reaches memcached, a seeds first (3 + 1).
  slow.beforeNext(
    (op, key) => op === "add" && key === KEY,
    async () => {
      await tick(a, [], 1);
      slow.stall((op, key) => op === "incr" && key === KEY, true);
    },
  );
  await tick(b, [], 4); // b loses the add; its conflict incr of its own 4 times out
  assert.equal(slow.stalled, 1, "b's conflict incr stalled");
  await slow.land(); // and lands late
  await tick(b);
  assert.equal(await live(global), 8, "b's 4 applied once");
  clock.now += 60_000;
  await exact(global, record, [a, b], 8);
});

test("a timed-out incr taken as applied is not persisted while it may still land: a reconciliation raise cannot double it", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const clock = { now: 1_000_000 };
  const [a, b] = [await node(slow, record, "a", clock), await node(global, record, "b", clock)];
  assert.equal(await tick(a, [], 4), 4);
  slow.stall((op, key) => op === "incr" && key === KEY, true);
  await tick(a, [], 6); // times out; memcached may still apply it
  await a.writer.writeOnce();
  assert.equal(await recorded(record), 4, "the 6 in doubt are held back from the record");
  assert.equal(await b.reconcile("s", "e", ["a"], 2), 0, "so the close finds nothing to raise");
  await slow.land(); // the stalled incr lands after the raise
  assert.equal(await live(global), 10);
  clock.now += 60_000;
  await exact(global, record, [a, b], 10);
  assert.equal(await b.reconcile("s", "e", ["a"], 3), 0);
  assert.equal(await live(global), 10);
});

test("a claim whose add landed but whose sentinel read timed out is counted on retry (its own add), not a duplicate", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const a = await node(slow, record, "a");
  const first = claim("v:1");
  await tick(a, [first]);
  assert.equal(outcomes.of(first), "counted");
  slow.stall((op, key) => op === "getMany" && key.startsWith("bc:os:"), true);
  const x = claim("v:2");
  await tick(a, [x]); // the add is applied; the sentinel read after it times out: no answer used
  assert.equal(outcomes.of(x), "pending");
  assert.equal(await tick(a), 2, "the retry finds its own add: counted");
  assert.equal(outcomes.of(x), "counted");
  await exact(global, record, [a], 2);
});

/** One tick as the tick loop runs it: phase 1 (flush), then phase 2 (the fresh read); the act's published total. */
async function publish(s: SharedStore, delta = 0): Promise<number | undefined> {
  await tick(s, [], delta);
  const got = await s.readTotals([{ show: "s", epoch: "e", acts: ["a"] }]);
  return got.get(epochKey("s", "e"))?.get("a");
}

let mc: RunningMemcached;
let db: MariaDb;
before(async () => {
  [mc, db] = await Promise.all([startMemcached(), startMariaDb()]);
});
after(async () => {
  await Promise.all([mc.stop(), db.stop()]);
});

/**
 * Nodes a and b on the real memcached, each with its own connection to a fresh, migrated MariaDB
 * database; a's cache is what `wrapA` makes of its client (a LateCache, or the client itself).
 */
async function realPair<C extends Cache>(wrapA: (c: MemcachedCache) => C) {
  const url = db.freshUrl();
  const record = new MysqlRecord(url);
  await record.migrate();
  const peerRecord = new MysqlRecord(url);
  const aCache = wrapA(new MemcachedCache({ servers: mc.address }));
  const cb = new MemcachedCache({ servers: mc.address });
  const [a, b] = [await node(aCache, record, "a"), await node(cb, peerRecord, "b")];
  return { record, cb, aCache, a, b };
}

test("the same on real memcached + MariaDB: flush_all, a node cut from memcached decides 6 new viewers in the record, a close, the link back: live == record", async () => {
  const { record, cb, a, b, aCache: cut } = await realPair((c) => new LateCache(c));
  try {
    const viewers = Array.from({ length: 11 }, (_, i) => claim(`v:${i}`));
    await tick(b, viewers.slice(0, 3));
    await tick(a, viewers.slice(3, 5));
    await a.writer.writeOnce();
    await b.writer.writeOnce();
    await mc.flushAll();
    await tick(a, viewers.slice(5, 6)); // record-decided on a from now on
    await learnRecordMode(b);
    cut.cut = true;
    await tick(a, viewers.slice(6));
    await a.writer.writeOnce();
    await tick(a);
    assert.deepEqual(new Set(viewers.map((c) => outcomes.of(c))), new Set(["counted"]), "11 viewers, each acked counted");
    await tick(b);
    await b.reconcile("s", "e", ["a"], 7);
    cut.cut = false;
    await exact(cb, record, [a, b], 11);
    await b.reconcile("s", "e", ["a"], 8);
    assert.equal(await live(cb), 11);
  } finally {
    await a.close();
    await b.close();
  }
});

test("real memcached: flush_all, another node re-seeds from the record first, this node's next incr succeeds on the new key: it re-adds its cached, unpersisted buzz; the total never decreases", async () => {
  await mc.flushAll(); // the earlier test's counter (same key) is gone
  const { record, cb, a, b, aCache: cut } = await realPair((c) => new LateCache(c));
  try {
    assert.equal(await publish(a, 1), 1, "a's first buzz is in memcached, not yet in the record");
    cut.cut = true; // a loses memcached for a while: its second buzz waits in memory
    assert.equal(await publish(a, 1), 2);
    await mc.flushAll(); // the counter, and a's first buzz with it, is gone
    assert.equal(await publish(b), 0, "b re-seeds the counter from the record (0): a's first buzz is not there");
    cut.cut = false;
    const shown: number[] = [];
    for (let i = 0; i < 3; i++) shown.push((await publish(a)) ?? -1);
    assert.deepEqual(shown, [2, 2, 2], "a's incr succeeds on b's key; what a shows never drops below 2");
    assert.equal(await live(cb), 2, "a noticed the key was re-created and re-added its first buzz, once");
    await exact(cb, record, [a, b], 2);
    assert.equal(await publish(b), 2);
  } finally {
    await a.close();
    await b.close();
  }
});

test("real memcached: a counter with a re-add due and nothing new pending is found missing by both its incr and its read in one flush: it is seeded once, the node's buzz counted once", async () => {
  await mc.flushAll(); // the earlier tests' counter (same key) is gone
  const { record, cb, a, b } = await realPair((c) => c);
  const wants = [{ show: "s", epoch: "e", acts: ["a"] }];
  try {
    assert.equal(await publish(a, 1), 1, "a's buzz is in memcached (a seeded the key), not yet in the record");
    await mc.flushAll();
    assert.equal(await publish(b), 0, "b re-seeds the counter from the record (0): a's buzz is not there");
    await a.readTotals(wants); // b's label: a queues its buzz to be re-added with its next incr
    await mc.flushAll(); // lost again before that incr
    await a.readTotals(wants); // found missing: a's next flush reads it again, besides the re-add
    assert.equal(await publish(a), 1, "a's re-add and its read both find the key missing; one seed holds a's buzz");
    assert.equal(await live(cb), 1, "seeded once: a's buzz counted once");
    await exact(cb, record, [a, b], 1);
    assert.equal(await publish(b), 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test("real memcached + MariaDB: a record-decided claim waits for another node's cache-decided row of the same viewer that has not reached the record yet; the viewer counts once", async () => {
  const { record, cb, a, b } = await realPair((c) => c);
  try {
    await mc.flushAll();
    await tick(a, [claim("v:0")]); // a decides in the cache too
    const onB = claim("v:x");
    await tick(b, [onB]);
    assert.equal(outcomes.of(onB), "counted", "b decides v:x counted in the cache; its batch is late (not written yet)");
    await mc.flushAll(); // memcached loses the epoch's claims
    const onA = claim("v:x"); // the same viewer through a
    await tick(a, [onA]); // sentinel gone: record mode on a
    for (let i = 0; i < 5; i++) {
      await tick(a);
      await a.writer.writeOnce();
    }
    await tick(a); // hands over anything the last batch decided
    assert.equal(outcomes.of(onA), "pending", "b may still commit v:x's row: the record decides nothing yet");
    await b.writer.writeOnce(); // b's late batch commits
    await learnRecordMode(b);
    for (let i = 0; i < 5 && outcomes.of(onA) === "pending"; i++) {
      await a.writer.writeOnce();
      await tick(a); // a record decision is handed over by the next flush
    }
    assert.equal(outcomes.of(onA), "duplicate", "the record's primary key now sees b's row");
    for (const n of [a, b]) await n.writer.writeOnce();
    await a.reconcile("s", "e", ["a"], 9); // the close raises live to the record (flush_all took both counts)
    await exact(cb, record, [a, b], 2);
    const rows = (await record.auditPage("s", "e", null, 100)).rows.filter((r) => r.viewer === "v:x");
    assert.deepEqual(
      rows.map((r) => [r.node, r.count]),
      [["b", 1]],
      "one audit row, count 1",
    );
  } finally {
    await a.close();
    await b.close();
  }
});
