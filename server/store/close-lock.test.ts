/**
 * The close's reconciliation lock (a row in the record, Record.lockClose) when taking it fails, on
 * real memcached and MariaDB: the real store, record writer and reconciliation of two nodes, whose
 * lock calls the test makes fail (refused, or applied with the answer lost). Driven step by step:
 * the test waits for conditions, never for time.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Cache } from "../cache/cache.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MysqlRecord } from "../record/mysql-record.ts";
import { RecordError, type Record } from "../record/record.ts";
import { startMariaDb, type MariaDb } from "../../test/harness/mariadb.ts";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { pollUntil } from "../../test/harness/wait.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { SharedStore } from "./shared-store.ts";
import { sharedStoreNode } from "../../test/harness/shared-store-node.ts";

const KEY = "bc:c:s:e:a";

/**
 * What a node's lock calls meet, in order: "refused" fails without reaching the record; "applied"
 * takes the lock in the record, then fails as a timeout would (the answer is lost). Calls beyond
 * the list reach the record normally.
 */
type LockFault = "refused" | "applied";

function withLockFaults(inner: Record, faults: LockFault[]): { record: Record; calls: () => number } {
  let calls = 0;
  const record = new Proxy(inner, {
    get(target, prop) {
      if (prop === "lockClose") {
        return async (show: string, epoch: string, version: number, token: string): Promise<boolean> => {
          calls++;
          const fault = faults.shift();
          if (fault === "refused") throw new RecordError("unreachable", "lock call refused (test fault)");
          const held = await target.lockClose(show, epoch, version, token);
          if (fault === "applied") throw new RecordError("unreachable", `lock call timed out after it applied (held: ${String(held)})`);
          return held;
        };
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { record, calls: () => calls };
}

const node = (global: Cache, record: Record, nodeId: string): Promise<SharedStore> => sharedStoreNode(global, record, nodeId);

async function tick(s: SharedStore, delta = 0): Promise<number | undefined> {
  const got = await s.flush([{ show: "s", epoch: "e", deltas: delta ? [{ act: "a", delta }] : [], claims: [], acts: ["a"] }]);
  return got.totals.get(epochKey("s", "e"))?.get("a");
}

const recorded = async (r: Record) => (await r.countTotals("s", "e")).get("a") ?? 0;
const live = async (c: Cache) => Number((await c.get(KEY)) ?? "NaN");

let mc: RunningMemcached;
let db: MariaDb;
before(async () => {
  [mc, db] = await Promise.all([startMemcached(), startMariaDb()]);
});
after(async () => {
  await Promise.all([mc.stop(), db.stop()]);
});

/**
 * Two nodes, the record one buzz ahead of live: a persists 3, b counts 2 without persisting,
 * flush_all takes the counter, a re-seeds it (record 3 + its own 1), b persists. Record 5, live 4,
 * a's 1 not persisted: a close must raise live by 1, and a later pass by a's 1 once it lands.
 */
async function liveBehindRecord(
  faultsA: LockFault[],
  faultsB: LockFault[],
): Promise<{ a: SharedStore; b: SharedStore; cb: Cache; record: Record; callsA: () => number; callsB: () => number }> {
  const url = db.freshUrl();
  const ra = new MysqlRecord(url);
  await ra.migrate();
  const la = withLockFaults(ra, faultsA);
  const lb = withLockFaults(new MysqlRecord(url), faultsB);
  const [ca, cb] = [new MemcachedCache({ servers: mc.address }), new MemcachedCache({ servers: mc.address })];
  const [a, b] = [await node(ca, la.record, "a"), await node(cb, lb.record, "b")];
  await mc.flushAll();
  await tick(a, 3);
  await a.writer.writeOnce();
  await tick(b, 2);
  await mc.flushAll();
  await tick(a, 1);
  await b.writer.writeOnce();
  assert.equal(await live(cb), 4);
  assert.equal(await recorded(ra), 5);
  return { a, b, cb, record: ra, callsA: la.calls, callsB: lb.calls };
}

test("every node's first three lock calls fail unapplied: each node tries again every pass period, one takes the lock and the close is reconciled (live == record)", async () => {
  const { a, b, cb, record, callsA, callsB } = await liveBehindRecord(["refused", "refused", "refused"], ["refused", "refused", "refused"]);
  try {
    a.votingClosed("s", "e", ["a"], 9);
    b.votingClosed("s", "e", ["a"], 9);
    await pollUntil(
      () => live(cb),
      (v) => v === 5,
      "live raised to the record by whichever node took the lock on its fourth attempt",
      5000,
    );
    await pollUntil(
      () => [callsA(), callsB()],
      ([ca, cb]) => (ca ?? 0) >= 4 && (cb ?? 0) >= 4,
      "each node kept trying, every pass period, until its fourth attempt",
    );
    // The node whose attempt found the other's token drops the close once that answer is back.
    await pollUntil(
      () => [a, b].filter((n) => n.reconciler.owned("s", "e").length > 0).length,
      (owners) => owners === 1,
      "exactly one node owns the close's window",
    );
    await a.writer.writeOnce(); // a's own 1 reaches the record: record 6
    assert.equal(await recorded(record), 6);
    await pollUntil(
      () => live(cb),
      (v) => v === 6,
      "live == record, by a later pass of the window",
      5000,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test("a node's lock call is applied but its answer lost: its next attempt finds its own token and it owns the window; the other node finds the lock held", async () => {
  const { a, b, cb, record, callsA } = await liveBehindRecord(["applied"], []);
  try {
    a.votingClosed("s", "e", ["a"], 9);
    await pollUntil(callsA, (n) => n >= 1, "a's first lock call (applied, answer lost)");
    b.votingClosed("s", "e", ["a"], 9);
    await pollUntil(
      () => live(cb),
      (v) => v === 5,
      "live raised to the record by the lock's holder",
      5000,
    );
    await a.writer.writeOnce();
    assert.equal(await recorded(record), 6);
    await pollUntil(
      () => live(cb),
      (v) => v === 6,
      "live == record, by a later pass of a's window",
      5000,
    );
    assert.deepEqual(a.reconciler.owned("s", "e"), ["a"], "a holds the lock (its token is in the record)");
    assert.deepEqual(b.reconciler.owned("s", "e"), [], "b found a's token");
  } finally {
    await a.close();
    await b.close();
  }
});
