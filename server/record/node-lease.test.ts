/**
 * NODE_ID leases on a real MariaDB: two record objects (two processes) over one database. The lease
 * is taken once, waited for, taken over only after it expires; a batch of a process whose lease
 * another one took is refused in its own transaction (nothing applied), so the two never share the
 * node's batch sequence.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../ops/logger.ts";
import { mariaDbFixture } from "./mysql-fixture.ts";
import { NodeIdTaken, NodeLease } from "./node-lease.ts";
import { RecordError, type CountBatch } from "./record.ts";

const fx = mariaDbFixture();
const quiet = createLogger("silent", {});
const batch = (node: string, batchSeq: number, delta: number): CountBatch => ({
  node,
  batchSeq,
  rows: [{ show: "s", epoch: "e", act: "a", delta }],
});

async function expire(url: string, node: string): Promise<void> {
  const db = new URL(url).pathname.slice(1);
  await fx.db.query(`UPDATE \`${db}\`.node_leases SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE node = ?`, [node]);
}

test("one holder per node id; a takeover only after expiry; the old holder's batches are refused, nothing applied", async () => {
  const url = fx.db.freshUrl();
  const a = fx.open(url);
  const b = fx.open(url);
  await a.migrate();
  assert.deepEqual(await a.acquireNodeLease("n", "A", 5000), { ok: true });
  assert.deepEqual(await a.acquireNodeLease("n", "A", 5000), { ok: true }, "renewal");
  const refused = await b.acquireNodeLease("n", "B", 5000);
  assert.equal(refused.ok, false);
  assert.ok(!refused.ok && refused.holder === "A" && refused.expiresInMs > 3000 && refused.expiresInMs <= 5000);
  await a.persistCounts(batch("n", 1, 7));

  await expire(url, "n"); // A was cut off longer than its lease
  assert.deepEqual(await b.acquireNodeLease("n", "B", 5000), { ok: true });
  assert.equal(await b.lastBatchSeq("n"), 1);
  await assert.rejects(a.persistCounts(batch("n", 2, 100)), (e: unknown) => e instanceof RecordError && e.code === "lease");
  await b.persistCounts(batch("n", 2, 3));
  assert.equal((await b.countTotals("s", "e")).get("a"), 10, "A's refused batch left no trace; B's seq 2 counted");
  assert.equal((await a.acquireNodeLease("n", "A", 5000)).ok, false, "A cannot take it back while B renews");

  await b.releaseNodeLease("n", "B");
  assert.deepEqual(await a.acquireNodeLease("n", "A", 5000), { ok: true }, "a released lease is free at once");
  await assert.rejects(b.persistCounts(batch("n", 3, 1)), (e: unknown) => e instanceof RecordError && e.code === "lease");
  // A node id nobody leased through a record object is not fenced there (tools, tests).
  await b.persistCounts(batch("other", 1, 1));
});

test("NodeLease waits for a live holder, is refused after its wait, takes an expired lease, and notices a takeover", async () => {
  const url = fx.db.freshUrl();
  const ra = fx.open(url);
  const rb = fx.open(url);
  await ra.migrate();
  const opts = { ttlMs: 1500, renewMs: 100, log: quiet };
  const first = new NodeLease(ra, "n", { ...opts, waitMs: 0 });
  await first.acquire();
  await assert.rejects(new NodeLease(rb, "n", { ...opts, waitMs: 300 }).acquire(), (e: unknown) => e instanceof NodeIdTaken);

  // The first stops renewing (as a SIGKILLed process does): a waiting successor gets it after expiry.
  await first.release();
  await ra.acquireNodeLease("n", first.holder, 1500); // held again, then no renewals
  let lostCalls = 0;
  const successor = new NodeLease(rb, "n", { ...opts, waitMs: 5000, onLost: () => lostCalls++ });
  const t0 = Date.now();
  await successor.acquire();
  assert.ok(Date.now() - t0 >= 1000, "waited for the expiry");
  assert.deepEqual(successor.checks(), {});

  // A takeover behind the successor's back (it was cut off): its next renewal notices.
  await expire(url, "n");
  assert.deepEqual(await ra.acquireNodeLease("n", "intruder", 60_000), { ok: true });
  const until = Date.now() + 5000;
  while (!successor.lost && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(successor.checks(), { lease: "lost" });
  assert.equal(lostCalls, 1, "told once");
  await successor.release(); // a lost lease is not deleted: the intruder keeps it
  assert.equal((await rb.acquireNodeLease("n", "someone", 1000)).ok, false);
});
