/**
 * The proof rows' contract (on-air totals, fleet secrets): every Record runs these tests
 * (memory-record.test.ts, mysql-record.test.ts).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { RecordError, type OnAirTotal } from "./record.ts";
import type { MakeRecord } from "./record.contract.ts";

const row = (patch: Partial<OnAirTotal>): OnAirTotal => ({
  show: "s1",
  epoch: "e1",
  act: "a1",
  node: "n1",
  total: 10,
  atMs: 1000,
  closedAtMs: 900,
  ...patch,
});

export function proofContract(name: string, make: MakeRecord): void {
  describe(`Record proof contract: ${name}`, () => {
    test("on-air totals: one row per act and node, a later frame replaces an earlier one, never the reverse", async () => {
      const { record: r, cleanup } = await make();
      try {
        await r.migrate();
        await r.recordOnAir([row({}), row({ node: "n2", total: 9 }), row({ act: "a2", total: 4 }), row({ epoch: "e2", total: 1 })]);
        await r.recordOnAir([row({ total: 12, atMs: 1100 })]);
        await r.recordOnAir([row({ total: 11, atMs: 1050 })]); // a late retry of an earlier frame
        await r.recordOnAir([row({ total: 12, atMs: 1100 })]); // idempotent
        const got = await r.onAirTotals("s1", "e1");
        assert.deepEqual(
          got.map((g) => [g.act, g.node, g.total, g.atMs, g.closedAtMs]),
          [
            ["a1", "n1", 12, 1100, 900],
            ["a1", "n2", 9, 1000, 900],
            ["a2", "n1", 4, 1000, 900],
          ],
        );
        assert.deepEqual(await r.onAirTotals("s1", "nope"), []);
        await assert.rejects(r.recordOnAir([row({ total: -1 })]), (e: unknown) => e instanceof RecordError && e.code === "query");
        await assert.rejects(r.recordOnAir([row({ act: "bad act" })]), (e: unknown) => e instanceof RecordError && e.code === "query");
      } finally {
        await cleanup();
      }
    });

    test("fleet secret: the first candidate is kept; every later caller gets it back", async () => {
      const { record: r, cleanup } = await make();
      try {
        await r.migrate();
        const first = randomBytes(32);
        const [a, b] = await Promise.all([r.fleetSecret("export_pseudonym", first), r.fleetSecret("export_pseudonym", randomBytes(32))]);
        assert.ok(a.equals(b), "both callers share one secret");
        assert.ok((await r.fleetSecret("export_pseudonym", randomBytes(32))).equals(a), "stable");
        assert.ok(!(await r.fleetSecret("other", randomBytes(32))).equals(a), "per name");
        await assert.rejects(
          r.fleetSecret("export_pseudonym", Buffer.alloc(4)),
          (e: unknown) => e instanceof RecordError && e.code === "query",
        );
      } finally {
        await cleanup();
      }
    });
  });
}
