/**
 * SharedStore under the races memcached timeouts and voting changes allow, driven step by step
 * (no sleeps): the real store, claim decider, record writer and reconciliation, over in-process
 * backends whose replies the test controls (test/harness/late-cache.ts: a request can be refused,
 * or time out on the caller's side and still be applied later). Each test ends with every count
 * settled and checks live == record == audit == buzzes acknowledged as counted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cache } from "../cache/cache.ts";
import { DualCache } from "../cache/dual-cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { silentLogger } from "../ops/logger.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { LateCache } from "../../test/harness/late-cache.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { SharedStore } from "./shared-store.ts";
import type { Claim } from "./store.ts";

const KEY = "bc:c:s:e:a";

interface Clock {
  now: number;
}

async function node(global: Cache, record: MemoryRecord, nodeId: string, clock?: Clock): Promise<SharedStore> {
  const s = new SharedStore(
    new DualCache(global, { l1TtlMs: 0 }),
    global,
    record,
    {
      nodeId,
      tickMs: 100,
      persistIntervalMs: 3_600_000,
      reconcileDelayMs: 0,
      durable: true,
      ...(clock ? { now: () => clock.now } : {}),
    },
    silentLogger,
  );
  await s.start();
  return s;
}

const claim = (viewer: string): Claim => ({ act: "a", viewer, atMs: 1, outcome: "pending" });

/** One tick of `s`: `delta` plain buzzes and these claims; returns the act's total. */
async function tick(s: SharedStore, claims: Claim[] = [], delta = 0): Promise<number | undefined> {
  const got = await s.flush([{ show: "s", epoch: "e", deltas: delta ? [{ act: "a", delta }] : [], claims, acts: ["a"] }]);
  return got.get(epochKey("s", "e"))?.get("a");
}

async function backends(): Promise<{ global: MemoryCache; record: MemoryRecord }> {
  const record = new MemoryRecord();
  await record.migrate();
  return { global: new MemoryCache(), record };
}

const recorded = async (r: MemoryRecord) => (await r.countTotals("s", "e")).get("a") ?? 0;
const audited = async (r: MemoryRecord) => (await r.auditTotals("s", "e")).get("a") ?? 0;
const live = async (c: Cache) => Number((await c.get(KEY)) ?? "NaN");

/** Persist both nodes, settle, and check live == record == audit == `want`. */
async function exact(global: Cache, record: MemoryRecord, nodes: SharedStore[], want: number): Promise<void> {
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
  assert.equal(first.outcome, "pending");
  cut.cut = true; // a loses memcached
  const late = [claim("v:6"), claim("v:7"), claim("v:8"), claim("v:9"), claim("v:10")];
  await tick(a, late);
  await a.writer.writeOnce(); // the record decides a's 6 claims
  await tick(a);
  for (const c of [first, ...late]) assert.equal(c.outcome, "counted", c.viewer);
  await tick(b); // b re-seeds the lost counter from the record
  assert.equal(await b.reconcile("s", "e", ["a"], 7), 0, "the close: nothing to raise yet, a's claims are not in the record's counts");
  cut.cut = false; // a reaches memcached again and applies what it holds
  await exact(global, record, [a, b], 10);
  assert.equal(await b.reconcile("s", "e", ["a"], 8), 0);
  assert.equal(await live(global), 10, "10 viewers, each counted once");
});

test("a claim whose add landed but whose sentinel read timed out is counted on retry (its own add), not a duplicate", async () => {
  const { global, record } = await backends();
  const slow = new LateCache(global);
  const a = await node(slow, record, "a");
  const first = claim("v:1");
  await tick(a, [first]);
  assert.equal(first.outcome, "counted");
  slow.stall((op, key) => op === "getMany" && key.startsWith("bc:os:"), true);
  const x = claim("v:2");
  await tick(a, [x]); // the add is applied; the sentinel read after it times out: no answer used
  assert.equal(x.outcome, "pending");
  assert.equal(await tick(a), 2, "the retry finds its own add: counted");
  assert.equal(x.outcome, "counted");
  await exact(global, record, [a], 2);
});
