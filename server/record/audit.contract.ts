/**
 * The audit log part of the Record contract (memory-record.test.ts, mysql-record.test.ts): audit
 * rows commit with their count rows, claims are decided once per viewer and act, retries report the
 * same decisions, pages and timelines cover every row exactly once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MakeRecord } from "./record.contract.ts";
import { RecordError, type AuditCursor, type AuditEntry, type AuditRow, type Record } from "./record.ts";

const e = (act: string, viewer: string, atMs: number, count = 1): AuditEntry => ({ show: "s1", epoch: "e1", act, viewer, atMs, count });
const asObj = (m: Map<string, number>) => Object.fromEntries(m);
const isQuery = (err: unknown) => err instanceof RecordError && err.code === "query";

async function allRows(r: Record, limit: number): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  let after: AuditCursor | null = null;
  for (let i = 0; i < 1000; i++) {
    const p: { rows: AuditRow[]; next: AuditCursor | null } = await r.auditPage("s1", "e1", after, limit);
    out.push(...p.rows);
    if (p.next === null) return out;
    after = p.next;
  }
  throw new Error("pagination did not end");
}

export function auditContract(name: string, make: MakeRecord): void {
  async function withRecord(fn: (r: Record) => Promise<void>): Promise<void> {
    const { record, cleanup } = await make();
    try {
      await record.migrate();
      await fn(record);
    } finally {
      await cleanup();
    }
  }

  describe(`Record audit contract: ${name}`, () => {
    test("audit rows commit with the count rows and must add up to them", async () => {
      await withRecord(async (r) => {
        const rows = [{ show: "s1", epoch: "e1", act: "a1", delta: 2 }];
        await assert.rejects(r.persistCounts({ node: "n1", batchSeq: 1, rows, once: [e("a1", "v:x", 10)] }), isQuery);
        await r.persistCounts({ node: "n1", batchSeq: 1, rows, once: [e("a1", "v:x", 10), e("a1", "v:y", 11)] });
        await r.persistCounts({
          node: "n2",
          batchSeq: 1,
          rows: [{ show: "s1", epoch: "e1", act: "a2", delta: 5 }],
          interval: [e("a2", "c1", 20, 5)],
        });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 2, a2: 5 });
        assert.deepEqual(asObj(await r.auditTotals("s1", "e1")), { a1: 2, a2: 5 });
        // A retried batch changes nothing, audit included.
        await r.persistCounts({ node: "n1", batchSeq: 1, rows, once: [e("a1", "v:x", 10), e("a1", "v:y", 11)] });
        assert.deepEqual(asObj(await r.auditTotals("s1", "e1")), { a1: 2, a2: 5 });
      });
    });

    test("a viewer counted twice by the cache stays visible and the sums still match", async () => {
      await withRecord(async (r) => {
        const rows = [{ show: "s1", epoch: "e1", act: "a1", delta: 1 }];
        await r.persistCounts({ node: "n1", batchSeq: 1, rows, once: [e("a1", "v:x", 10)] });
        await r.persistCounts({ node: "n2", batchSeq: 1, rows, once: [e("a1", "v:x", 12)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 2 });
        assert.deepEqual(asObj(await r.auditTotals("s1", "e1")), { a1: 2 });
        const [only] = await allRows(r, 10);
        assert.equal(only?.count, 2);
      });
    });

    test("claims: first accepted (reserved, counting nothing), later ones refused, retries report the same; a later once row counts it", async () => {
      await withRecord(async (r) => {
        const b1 = { node: "n1", batchSeq: 1, rows: [], claims: [e("a1", "v:x", 10), e("a1", "v:y", 10)] };
        assert.deepEqual(await r.persistCounts(b1), { refused: [] });
        const b2 = { node: "n2", batchSeq: 1, rows: [], claims: [e("a1", "v:z", 11), e("a1", "v:x", 11), e("a2", "v:x", 11)] };
        assert.deepEqual(await r.persistCounts(b2), { refused: [1] });
        assert.deepEqual(await r.persistCounts(b2), { refused: [1] }, "a committed batch retried reports the same decisions");
        assert.deepEqual(await r.persistCounts(b1), { refused: [] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), {}, "a reservation counts nothing");
        assert.deepEqual(asObj(await r.auditTotals("s1", "e1")), {});
        assert.deepEqual(await allRows(r, 10), [], "nor is it a row of the audit log yet");
        // Each node then counts what it was granted, as `once` rows of a later batch.
        const row = (act: string, delta: number) => ({ show: "s1", epoch: "e1", act, delta });
        await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row("a1", 2)], once: [e("a1", "v:x", 20), e("a1", "v:y", 20)] });
        await r.persistCounts({
          node: "n2",
          batchSeq: 2,
          rows: [row("a1", 1), row("a2", 1)],
          once: [e("a1", "v:z", 21), e("a2", "v:x", 21)],
        });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 3, a2: 1 });
        assert.deepEqual(asObj(await r.auditTotals("s1", "e1")), { a1: 3, a2: 1 });
        assert.deepEqual(
          (await allRows(r, 10)).map((x) => [x.act, x.viewer, x.node, x.atMs, x.count]),
          [
            ["a1", "v:x", "n1", 10, 1],
            ["a1", "v:y", "n1", 10, 1],
            ["a1", "v:z", "n2", 11, 1],
            ["a2", "v:x", "n2", 11, 1],
          ],
          "one row per viewer, as reserved",
        );
        assert.deepEqual(await r.persistCounts(b1), { refused: [] }, "decisions survive the count");
        // A viewer already claimed is refused even as a claim from the node that holds it.
        assert.deepEqual(await r.persistCounts({ node: "n1", batchSeq: 3, rows: [], claims: [e("a1", "v:y", 12)] }), { refused: [0] });
        await assert.rejects(
          r.persistCounts({ node: "n1", batchSeq: 4, rows: [], claims: [e("a1", "v:q", 1), e("a1", "v:q", 2)] }),
          isQuery,
        );
      });
    });

    test("pages cover every row once in (act, atMs, viewer, node) order; timeline adds up", async () => {
      await withRecord(async (r) => {
        const once = [e("a1", "v:b", 1000), e("a1", "v:a", 1000), e("a1", "v:é", 999), e("b2", "v:a", 5)];
        await r.persistCounts({
          node: "n1",
          batchSeq: 1,
          rows: [
            { show: "s1", epoch: "e1", act: "a1", delta: 3 },
            { show: "s1", epoch: "e1", act: "b2", delta: 1 },
          ],
          once,
        });
        await r.persistCounts({ node: "n2", batchSeq: 1, rows: [], claims: [e("a1", "v:c", 2500), e("a1", "v:a", 2600)] });
        await r.persistCounts({
          node: "n2",
          batchSeq: 2,
          rows: [{ show: "s1", epoch: "e1", act: "a1", delta: 1 }],
          once: [e("a1", "v:c", 2501)],
        });
        await r.persistCounts({
          node: "n3",
          batchSeq: 1,
          rows: [{ show: "s1", epoch: "e1", act: "a1", delta: 7 }],
          interval: [e("a1", "c9", 1000, 7)],
        });
        const full = await allRows(r, 100);
        for (const limit of [1, 2, 3]) assert.deepEqual(await allRows(r, limit), full, `limit ${limit}`);
        assert.deepEqual(
          full.map((x) => [x.act, x.atMs, x.viewer, x.node, x.count]),
          [
            ["a1", 999, "v:é", "n1", 1],
            ["a1", 1000, "c9", "n3", 7],
            ["a1", 1000, "v:a", "n1", 1],
            ["a1", 1000, "v:b", "n1", 1],
            ["a1", 2500, "v:c", "n2", 1],
            ["b2", 5, "v:a", "n1", 1],
          ],
        );
        assert.deepEqual(await r.timeline("s1", "e1", "a1", 1000), [
          [0, 1],
          [1000, 9],
          [2000, 1],
        ]);
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), asObj(await r.auditTotals("s1", "e1")));
        await assert.rejects(r.auditPage("s1", "e1", "garbage" as AuditCursor, 10), isQuery);
        await assert.rejects(r.auditPage("s1", "e1", null, 0), isQuery);
        await assert.rejects(r.timeline("s1", "e1", "a1", 0), isQuery);
      });
    });

    test("markClaimEpoch: created once, then exists", async () => {
      await withRecord(async (r) => {
        assert.equal(await r.markClaimEpoch("s1", "e1", "n1"), "created");
        assert.equal(await r.markClaimEpoch("s1", "e1", "n2"), "exists");
        assert.equal(await r.markClaimEpoch("s1", "e2", "n2"), "created");
      });
    });

    test("claim cache deciders: a join is refused once the epoch is in record mode; record mode lists who has not left", async () => {
      await withRecord(async (r) => {
        assert.equal(await r.joinClaimCache("s1", "e1", "n1"), true);
        assert.equal(await r.joinClaimCache("s1", "e1", "n1"), true, "idempotent");
        assert.equal(await r.joinClaimCache("s1", "e1", "n2"), true);
        assert.deepEqual(await r.claimRecordMode("s1", "e1", "n3"), ["n1", "n2"]);
        assert.equal(await r.joinClaimCache("s1", "e1", "n4"), false, "record mode is for good: nobody joins");
        assert.equal(await r.joinClaimCache("s1", "e1", "n1"), false, "a registered node learns it");
        assert.deepEqual(await r.claimRecordMode("s1", "e1", "n1"), ["n2"], "the caller is not listed");
        await r.leaveClaimCache("n2", "s1", "e1");
        assert.deepEqual(await r.claimRecordMode("s1", "e1", "n3"), ["n1"]);
        assert.equal(await r.joinClaimCache("s1", "e2", "n1"), true, "another epoch is its own");
        await r.leaveClaimCache("n1", null, null);
        assert.deepEqual(await r.claimRecordMode("s1", "e1", "n3"), []);
        assert.deepEqual(await r.claimRecordMode("s1", "e2", "n3"), [], "every epoch left");
        await assert.rejects(r.joinClaimCache("", "e1", "n1"), isQuery);
      });
    });
  });
}
