/**
 * MysqlRecord on a real MariaDB (one instance for this file, a fresh database per test): the
 * Record contract, migrations, and many nodes writing at once. Faults: mysql-record-faults.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadMigrations } from "./migrate.ts";
import { MysqlRecord } from "./mysql-record.ts";
import { mariaDbFixture } from "./mysql-fixture.ts";
import { RecordError, type CountRow } from "./record.ts";
import { auditContract } from "./audit.contract.ts";
import { proofContract } from "./proof.contract.ts";
import { recordContract } from "./record.contract.ts";

const fx = mariaDbFixture();
const open = fx.open;

recordContract("MysqlRecord on MariaDB", async () => {
  const record = new MysqlRecord(fx.db.freshUrl());
  return { record, cleanup: () => record.close() };
});
auditContract("MysqlRecord on MariaDB", async () => {
  const record = new MysqlRecord(fx.db.freshUrl());
  return { record, cleanup: () => record.close() };
});

proofContract("MysqlRecord on MariaDB", async () => {
  const record = new MysqlRecord(fx.db.freshUrl());
  return { record, cleanup: () => record.close() };
});

const dbName = (url: string) => new URL(url).pathname.slice(1);
const isCode = (code: string) => (e: unknown) => e instanceof RecordError && e.code === code;

describe("MysqlRecord on MariaDB", () => {
  test("two nodes migrating a missing database at once: created once, applied once", async () => {
    const url = fx.db.freshUrl();
    const [a, b] = [open(url), open(url)];
    await Promise.all([a.migrate(), b.migrate()]);
    const applied = await fx.db.query<{ version: number }[]>(`SELECT version FROM \`${dbName(url)}\`.schema_migrations`);
    assert.deepEqual(
      applied.map((r) => r.version),
      (await loadMigrations()).map((m) => m.version),
    );
    await a.persistCounts({ node: "n1", batchSeq: 1, rows: [{ show: "s", epoch: "e", act: "a", delta: 1 }] });
    assert.equal((await b.countTotals("s", "e")).get("a"), 1);
  });

  test("an existing empty database is migrated in place", async () => {
    const r = open(fx.db.url);
    await r.migrate();
    await r.saveShow({ show: { id: "s", title: "T", acts: [] }, stage: { act: null, open: false }, epoch: "e", version: 1 });
    const tables = await fx.db.query<{ name: string }[]>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'buzzcast'",
    );
    const names = new Set(tables.map((t) => t.name));
    // 001: four tables, 002: three, 004: node_leases, 006: on_air and fleet_secrets, + schema_migrations (later migrations may add more)
    for (const t of [
      "shows",
      "stage_history",
      "counts",
      "node_batches",
      "audit_once",
      "audit_interval",
      "claim_epochs",
      "node_leases",
      "on_air",
      "fleet_secrets",
      "schema_migrations",
    ]) {
      assert.ok(names.has(t), `table ${t} created`);
    }
    assert.equal((await r.listShows()).length, 1);
  });

  test("a migration file changed after it was applied is refused", async () => {
    const url = fx.db.freshUrl();
    const r = open(url);
    await r.migrate();
    await fx.db.query(`UPDATE \`${dbName(url)}\`.schema_migrations SET checksum = REPEAT('0', 64) WHERE version = 1`);
    await assert.rejects(r.migrate(), isCode("schema"));
  });

  test("4 nodes writing overlapping keys in parallel never fail and sum exactly", async (t) => {
    const url = fx.db.freshUrl();
    const nodes = ["n1", "n2", "n3", "n4"].map((id) => ({ id, rec: open(url, { poolSize: 2 }) }));
    await nodes[0]?.rec.migrate();
    const keys: [string, string][] = [];
    for (const epoch of ["e1", "e2"]) for (let a = 0; a < 30; a++) keys.push([epoch, `act-${a}`]);
    const expected = new Map<string, number>();
    const perNode = new Map<string, Map<string, number>>();
    const batches = nodes.map(({ id }) => {
      const mine = new Map<string, number>();
      perNode.set(id, mine);
      return Array.from({ length: 20 }, (_, i) => {
        const rows: CountRow[] = [];
        for (let k = 0; k < 50; k++) {
          const [epoch, act] = keys[Math.floor(Math.random() * keys.length)] as [string, string];
          const delta = 1 + Math.floor(Math.random() * 5);
          rows.push({ show: "s", epoch, act, delta });
          expected.set(`${epoch}/${act}`, (expected.get(`${epoch}/${act}`) ?? 0) + delta);
          mine.set(`${epoch}/${act}`, (mine.get(`${epoch}/${act}`) ?? 0) + delta);
        }
        return { node: id, batchSeq: i + 1, rows };
      });
    });
    // Each node sends its batches in order (the contract); the nodes run concurrently.
    await Promise.all(
      nodes.map(async ({ rec }, n) => {
        for (const b of batches[n] ?? []) await rec.persistCounts(b);
      }),
    );
    const reader = nodes[0]?.rec as MysqlRecord;
    for (const epoch of ["e1", "e2"]) {
      for (const [act, total] of await reader.countTotals("s", epoch)) {
        assert.equal(total, expected.get(`${epoch}/${act}`), `${epoch}/${act}`);
      }
      // One row per (act, node), each holding exactly that node's deltas (read from the table itself).
      const rows = await fx.db.query<Array<{ node: string; act: string; count: number }>>(
        `SELECT node, act, count FROM \`${dbName(url)}\`.counts WHERE show_id = 's' AND epoch = ?`,
        [epoch],
      );
      assert.ok(rows.length > 0);
      for (const r of rows)
        assert.equal(Number(r.count), perNode.get(String(r.node))?.get(`${epoch}/${r.act}`), `${r.node} ${epoch}/${r.act}`);
      const expectedRows = [...perNode.values()].reduce((n, m) => n + [...m.keys()].filter((k) => k.startsWith(`${epoch}/`)).length, 0);
      assert.equal(rows.length, expectedRows, "no row is shared between nodes");
    }
    const sum = [...expected.values()].reduce((a, b) => a + b, 0);
    const got = [...(await reader.countTotals("s", "e1")).values(), ...(await reader.countTotals("s", "e2")).values()];
    assert.equal(
      got.reduce((a, b) => a + b, 0),
      sum,
    );
    for (const { id, rec } of nodes) assert.equal(await rec.lastBatchSeq(id), 20);
    t.diagnostic(`lock retries: ${nodes.map((n) => n.rec.counters.lockRetries).join(",")}`);
  });

  test("replaying a batch after node_batches lost track is still not double counted (per-row seq)", async () => {
    const url = fx.db.freshUrl();
    const r = open(url);
    await r.migrate();
    const batch = { node: "n1", batchSeq: 7, rows: [{ show: "s", epoch: "e", act: "a", delta: 5 }] };
    await r.persistCounts(batch);
    await fx.db.query(`UPDATE \`${dbName(url)}\`.node_batches SET last_batch_seq = 0`);
    await r.persistCounts(batch);
    assert.equal((await r.countTotals("s", "e")).get("a"), 5);
    const [row] = await fx.db.query<{ batch_seq: number }[]>(`SELECT batch_seq FROM \`${dbName(url)}\`.counts`);
    assert.equal(Number(row?.batch_seq), 7);
  });
});
