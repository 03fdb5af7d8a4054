/**
 * The journal and its replay against the in-memory record (same batch semantics as MySQL): a node
 * that journals, forms batches off the front of its per-key queues, commits some, and dies at any
 * point is replayed to exactly what it journaled, no matter where the crash fell.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { createLogger } from "../ops/logger.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import type { AuditEntry, CountRow } from "../record/record.ts";
import type { QueuedAudit } from "./audit-queue.ts";
import { JournalError } from "./journal.ts";
import { replayAndOpen } from "./journal-replay.ts";

const dir = mkdtempSync(join(tmpdir(), "journal-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("silent");
let files = 0;
const freshPath = (): string => join(dir, `j${files++}.wal`);

const buzz = (act: string, viewer: string, count: number, once = false): QueuedAudit => ({
  show: "s",
  epoch: "e",
  act,
  viewer,
  atMs: 1000,
  count,
  once,
});

/** A stand-in for the counters' audit queues and the record writer: batches take the oldest buzzes. */
class Writer {
  private readonly queues = new Map<string, QueuedAudit[]>();
  seq: number;
  constructor(start: number) {
    this.seq = start;
  }
  queue(entries: readonly QueuedAudit[]): void {
    for (const e of entries) {
      const q = this.queues.get(e.act) ?? [];
      q.push({ ...e });
      this.queues.set(e.act, q);
    }
  }
  /** Up to `most` buzzes of each act, oldest first, as a record batch. */
  form(node: string, most: number): { rows: CountRow[]; once: AuditEntry[]; interval: AuditEntry[]; seq: number } | null {
    const rows: CountRow[] = [];
    const once: AuditEntry[] = [];
    const interval: AuditEntry[] = [];
    for (const [act, q] of this.queues) {
      let left = most;
      let delta = 0;
      while (left > 0 && q.length > 0) {
        const e = q[0]!;
        const n = Math.min(e.count, left);
        const row = { show: e.show, epoch: e.epoch, act, viewer: e.viewer, atMs: e.atMs, count: n };
        (e.once ? once : interval).push(row);
        if (n === e.count) q.shift();
        else q[0] = { ...e, count: e.count - n };
        left -= n;
        delta += n;
      }
      if (delta > 0) rows.push({ show: "s", epoch: "e", act, delta });
    }
    if (rows.length === 0) return null;
    void node;
    return { rows, once, interval, seq: ++this.seq };
  }
}

type Op =
  { k: "append"; act: string; counts: number[] } | { k: "batch"; most: number; commit: "both" | "record-only" | "none" } | { k: "restart" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("append" as const),
      act: fc.constantFrom("a", "b"),
      counts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("batch" as const),
      most: fc.integer({ min: 1, max: 8 }),
      commit: fc.constantFrom("both" as const, "record-only" as const, "none" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const) }) },
);

test("a node killed anywhere among appends, batch intents and commits is replayed to exactly what it journaled", async () => {
  await fc.assert(
    fc.asyncProperty(
      op.chain((first) => fc.array(op, { maxLength: 40 }).map((rest) => [first, ...rest])),
      fc.boolean(),
      async (ops, smallFiles) => {
        const record = new MemoryRecord();
        await record.migrate();
        const path = freshPath();
        const opts = { path, node: "n1", fsync: false, ...(smallFiles ? { compactBytes: 200 } : {}) };
        let { journal } = await replayAndOpen(record, opts, log);
        let writer = new Writer(await record.lastBatchSeq("n1"));
        const journaled = new Map<string, number>();
        let viewer = 0;
        for (const o of ops) {
          if (o.k === "append") {
            const entries = o.counts.map((n) => buzz(o.act, `v${viewer++}`, n));
            journal.appendSync(entries);
            writer.queue(entries);
            journaled.set(o.act, (journaled.get(o.act) ?? 0) + o.counts.reduce((a, b) => a + b, 0));
          } else if (o.k === "batch") {
            const b = writer.form("n1", o.most);
            if (!b) continue;
            await journal.intent(b.seq, b.rows);
            if (o.commit === "none") {
              // The batch never reached the record: the node dies before its retry.
              ({ journal } = await replayAndOpen(record, opts, log));
              writer = new Writer(await record.lastBatchSeq("n1"));
              continue;
            }
            await record.persistCounts({ node: "n1", batchSeq: b.seq, rows: b.rows, once: b.once, interval: b.interval });
            if (o.commit === "both") journal.committed(b.seq, b.rows);
            else {
              // Committed, then killed before the journal heard of it.
              ({ journal } = await replayAndOpen(record, opts, log));
              writer = new Writer(await record.lastBatchSeq("n1"));
            }
          } else {
            ({ journal } = await replayAndOpen(record, opts, log));
            writer = new Writer(await record.lastBatchSeq("n1"));
          }
        }
        await replayAndOpen(record, opts, log);
        const counts = await record.countTotals("s", "e");
        const audit = await record.auditTotals("s", "e");
        assert.deepEqual(Object.fromEntries(counts), Object.fromEntries(journaled), "record == journaled, per act");
        assert.deepEqual(Object.fromEntries(audit), Object.fromEntries(journaled), "audit == journaled, per act");
      },
    ),
    { numRuns: 300 },
  );
});

test("once rows replay as once rows; a clean close leaves an empty journal", async () => {
  const record = new MemoryRecord();
  await record.migrate();
  const path = freshPath();
  const { journal } = await replayAndOpen(record, { path, node: "n1", fsync: true }, log);
  journal.appendSync([buzz("a", "v:1", 1, true), buzz("a", "v:2", 1, true)]);
  await journal.append([buzz("a", "v:3", 1, true)]);
  assert.equal(journal.stats().uncommitted, 3);
  assert.ok(journal.stats().syncs >= 2, "fsync on: every append synced");
  const { buzzes } = await replayAndOpen(record, { path, node: "n1", fsync: true }, log);
  assert.equal(buzzes, 3);
  const page = await record.auditPage("s", "e", null, 10);
  assert.deepEqual(
    page.rows.map((r) => [r.viewer, r.count]),
    [
      ["v:1", 1],
      ["v:2", 1],
      ["v:3", 1],
    ],
  );
  const again = await replayAndOpen(record, { path, node: "n1", fsync: true }, log);
  assert.equal(again.buzzes, 0, "replayed once: the new journal starts empty");
  again.journal.close();
  assert.equal(readFileSync(path, "utf8").split("\n").length, 2, "header line only");
});

test("a torn last line is ignored; a damaged earlier line, another node's journal or a record that lost batches refuse to start", async () => {
  const record = new MemoryRecord();
  await record.migrate();
  const path = freshPath();
  const { journal } = await replayAndOpen(record, { path, node: "n1", fsync: false }, log);
  journal.appendSync([buzz("a", "v:1", 2)]);
  appendFileSync(path, '0badc0de {"t":"a","e":[["s","e","a","v:9",5,0,1'); // killed mid-write
  assert.equal((await replayAndOpen(record, { path, node: "n1", fsync: false }, log)).buzzes, 2);
  assert.equal((await record.countTotals("s", "e")).get("a"), 2);

  const { journal: j2 } = await replayAndOpen(record, { path, node: "n1", fsync: false }, log);
  j2.appendSync([buzz("a", "v:2", 1)]);
  j2.appendSync([buzz("a", "v:3", 1)]);
  const lines = readFileSync(path, "utf8").split("\n");
  lines[1] = lines[1]!.replace("v:2", "v:X");
  writeFileSync(path, lines.join("\n"));
  await assert.rejects(
    replayAndOpen(record, { path, node: "n1", fsync: false }, log),
    (e: unknown) => e instanceof JournalError && e.code === "corrupt",
  );

  const p2 = freshPath();
  await replayAndOpen(record, { path: p2, node: "n1", fsync: false }, log);
  await assert.rejects(
    replayAndOpen(record, { path: p2, node: "n2", fsync: false }, log),
    (e: unknown) => e instanceof JournalError && e.code === "foreign",
  );
  const fresh = new MemoryRecord();
  await fresh.migrate();
  const p3 = freshPath();
  await replayAndOpen(record, { path: p3, node: "n1", fsync: false }, log); // base: this record's last seq (1)
  await assert.rejects(
    replayAndOpen(fresh, { path: p3, node: "n1", fsync: false }, log),
    (e: unknown) => e instanceof JournalError && e.code === "foreign",
  );
});
