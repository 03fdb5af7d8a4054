/**
 * ClaimDecider step by step on in-process backends (MemoryCache stands in for memcached, a shared
 * MemoryRecord for MySQL): cache mode, the sentinel lost mid-epoch (record mode, answers thrown
 * away), record mode waiting for every other cache decider to commit and leave, another node's
 * sentinel awaited, and an `add` that timed out but was applied.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CacheError, type Cache } from "../cache/cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { silentLogger } from "../ops/logger.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { ClaimBook } from "./claim-book.ts";
import { ClaimDecider, type CommittedSoFar } from "./claim-decider.ts";
import type { Claim } from "./store.ts";

const OPTS = { prefix: "t", graceMs: 1000, checkEveryMs: 500, ttlSec: 60, processKey: "p1" };
const claim = (viewer: string, act = "a"): Claim => ({ act, viewer, atMs: 1, outcome: "pending" });
const ALL_COMMITTED = () => () => true;
const decider = (cache: Cache, record: MemoryRecord, nodeId: string, committed: CommittedSoFar = ALL_COMMITTED) =>
  new ClaimDecider(cache, record, { ...OPTS, nodeId }, silentLogger, committed);

test("cache mode: the first node to claim a viewer counts it, every other gets duplicate", async () => {
  const cache = new MemoryCache();
  const record = new MemoryRecord();
  const [d1, d2] = [decider(cache, record, "n1"), decider(cache, record, "n2")];
  const mine = [claim("x"), claim("y")];
  d1.take("s", "e", mine);
  assert.deepEqual(
    (await d1.decide(1000)).map((c) => c.claim.viewer),
    ["x", "y"],
  );
  const theirs = [claim("x"), claim("z"), claim("x", "b")];
  d2.take("s", "e", theirs);
  assert.deepEqual(
    (await d2.decide(1000)).map((c) => `${c.claim.act}:${c.claim.viewer}`),
    ["a:z", "b:x"],
  );
  assert.deepEqual(
    theirs.map((c) => c.outcome),
    ["duplicate", "counted", "counted"],
  );
  assert.equal(d1.counts.adds + d2.counts.adds, 5, "one add per claim");
});

test("sentinel gone after the adds: answers thrown away, record mode for the rest of the epoch", async () => {
  const cache = new MemoryCache();
  const record = new MemoryRecord();
  const d = decider(cache, record, "n1");
  d.take("s", "e", [claim("x")]);
  await d.decide(1000);
  // memcached flushed: every key gone, including the sentinel and x's claim.
  for (const k of ["t:os:s:e"]) await cache.delete(k);
  const late = [claim("w")];
  d.take("s", "e", late);
  assert.deepEqual(await d.decide(2000), [], "no answer is used without the sentinel");
  assert.equal(late[0]?.outcome, "pending");
  assert.equal(d.counts.recordModeEpochs, 1);
  assert.deepEqual(
    d.takeForRecord().map((c) => c.claim.viewer),
    ["w"],
    "no other node decided this epoch in the cache: the record decides at once",
  );
  d.take("s", "e", [claim("v")]);
  assert.deepEqual(await d.decide(3000), [], "record mode is for the rest of the epoch");
  assert.equal(d.takeForRecord().length, 1);
});

test("record mode waits until every other cache decider of the epoch has committed its decisions and left", async () => {
  const cache = new MemoryCache();
  const record = new MemoryRecord();
  let n2Committed = false;
  const d1 = decider(cache, record, "n1");
  const d2 = decider(cache, record, "n2", () => () => n2Committed);
  const counted = claim("x");
  d2.take("s", "e", [counted]);
  assert.equal((await d2.decide(1000)).length, 1, "n2 decides x counted in the cache (its audit row not committed yet)");
  await cache.delete("t:os:s:e"); // memcached loses the epoch's claims
  d1.take("s", "e", [claim("x")]); // the same viewer through n1
  await d1.decide(1100); // sentinel missing, the epoch marked: held for the grace period
  await d1.decide(2100); // then record mode
  assert.equal(d1.counts.recordModeEpochs, 1);
  assert.deepEqual(d1.takeForRecord(), [], "n2 is still registered: its row may still reach the record");
  assert.equal(await record.joinClaimCache("s", "e", "n3"), false, "no node joins the epoch's cache deciding any more");
  await d2.decide(2200); // n2 asks again after checkEveryMs: refused, it stops deciding in the cache
  await d1.decide(2300);
  assert.deepEqual(d1.takeForRecord(), [], "n2 stopped, but what it decided is not committed");
  n2Committed = true;
  await d2.decide(2400); // leaves
  await d1.decide(2500);
  assert.deepEqual(
    d1.takeForRecord().map((c) => c.viewer),
    ["x"],
    "now the record's primary key sees n2's row",
  );
});

test("sentinel missing but marked in the record: held for the grace period, then record mode", async () => {
  const cache = new MemoryCache();
  const record = new MemoryRecord();
  await record.markClaimEpoch("s", "e", "n0"); // another node marked it (and died, or the cache lost it)
  const d = decider(cache, record, "n1");
  const c = claim("x");
  d.take("s", "e", [c]);
  assert.deepEqual(await d.decide(1000), []);
  assert.equal(d.held, 1);
  await cache.add("t:os:s:e", "n0"); // ...unless the sentinel turns up within the grace period
  assert.equal((await d.decide(1500)).length, 1);
  assert.equal(c.outcome, "counted");

  const d2 = decider(new MemoryCache(), record, "n2");
  await record.markClaimEpoch("s", "e2", "n0");
  d2.take("s", "e2", [claim("y")]);
  await d2.decide(1000);
  await d2.decide(1999);
  assert.equal(d2.counts.recordModeEpochs, 0);
  await d2.decide(2000);
  assert.equal(d2.counts.recordModeEpochs, 1);
});

test("an add that timed out but was applied: the retry sees our token and counts it once", async () => {
  const inner = new MemoryCache();
  let stall = true;
  const cache: Cache = Object.assign(Object.create(inner) as Cache, {
    add: async (key: string, value: string, ttl?: number) => {
      const r = await inner.add(key, value, ttl);
      if (stall && key.startsWith("t:o:")) throw new CacheError("timeout", "memcached did not answer in time");
      return r;
    },
  });
  const record = new MemoryRecord();
  const d = decider(cache, record, "n1");
  const c = claim("x");
  d.take("s", "e", [c]);
  assert.deepEqual(await d.decide(1000), []);
  assert.equal(c.outcome, "pending");
  assert.notEqual(d.error, null, "the failure is reported (readiness, log)");
  stall = false;
  assert.equal((await d.decide(1100)).length, 1);
  assert.equal(c.outcome, "counted");
  assert.equal(d.error, null);
  // Someone else's key is not ours: a peer's retry after its own timeout is a duplicate.
  const peer = decider(cache, record, "n2");
  const p = claim("x");
  peer.take("s", "e", [p]);
  await peer.decide(1200);
  assert.equal(p.outcome, "duplicate");
});

test("anonymous connections (per-process keys c<n>) of two processes are different viewers; viewer ids are not", async () => {
  const cache = new MemoryCache();
  const record = new MemoryRecord();
  const d1 = new ClaimDecider(cache, record, { ...OPTS, nodeId: "n1", processKey: "n1.aa" }, silentLogger, ALL_COMMITTED);
  const d2 = new ClaimDecider(cache, record, { ...OPTS, nodeId: "n2", processKey: "n2.bb" }, silentLogger, ALL_COMMITTED);
  d1.take("s", "e", [claim("c1"), claim("v:c1")]);
  d2.take("s", "e", [claim("c1"), claim("v:c1")]);
  const got = [...(await d1.decide(1)), ...(await d2.decide(1))].map((c) => c.viewer);
  assert.deepEqual(got, ["n1.aa/c1", "v:c1", "n2.bb/c1"]);
  const book = new ClaimBook(() => true);
  const k = (viewer: string) => ({ show: "s", epoch: "e", act: "a", viewer });
  assert.deepEqual(book.decide(1, [k("c1"), k("v:x")]), [true, true]);
  assert.deepEqual(book.decide(2, [k("c1"), k("v:x")]), [true, false], "c1 of another thread is another viewer");
  assert.deepEqual(book.decide(1, [k("v:x")]), [true], "a repeat from the same thread (a lost answer) gets the same answer");
});
