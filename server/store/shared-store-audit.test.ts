/**
 * SharedStore with an audit log (durable record): who cast each counted buzz reaches the record in
 * the batch that persists its count, so per act the audit rows always add up to the count rows;
 * record-decided claims are counted by the record itself and join the live total afterwards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCache } from "../cache/memory-cache.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { SharedStore } from "./shared-store.ts";
import { sharedStoreNode } from "../../test/harness/shared-store-node.ts";
import type { Claim } from "./store.ts";
import { ClaimOutcomes } from "../../test/harness/claim-outcomes.ts";

const auditedNode = (global: MemoryCache, record: MemoryRecord, nodeId: string): Promise<SharedStore> =>
  sharedStoreNode(global, record, nodeId, { tickMs: 10 });
const obj = (m: Map<string, number>) => Object.fromEntries(m);

test("unlimited: one audit row per viewer, act and batch, committed with the counts", async () => {
  const record = new MemoryRecord();
  const s = await auditedNode(new MemoryCache(), record, "n1");
  assert.equal(s.auditsViewers, true);
  await s.flush([
    {
      show: "s",
      epoch: "e",
      deltas: [
        {
          act: "a",
          delta: 5,
          viewers: new Map([
            ["c1", 3],
            ["c2", 2],
          ]),
        },
      ],
      acts: ["a"],
    },
  ]);
  await s.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 4, viewers: new Map([["c1", 4]]) }], acts: ["a"] }]);
  await s.writer.writeOnce();
  assert.deepEqual(obj(await record.countTotals("s", "e")), { a: 9 });
  assert.deepEqual(obj(await record.auditTotals("s", "e")), { a: 9 });
  const { rows } = await record.auditPage("s", "e", null, 10);
  assert.deepEqual(
    rows.map((r) => [r.viewer, r.count]).sort(),
    [
      ["c1", 7],
      ["c2", 2],
    ],
    "c1's buzzes of two ticks are one row of this batch",
  );
  await s.close();
});

test("once: cache-decided claims get audit rows; record-decided ones are reserved by the record, then counted in live, then in the record", async () => {
  const record = new MemoryRecord();
  const cache = new MemoryCache();
  const s = await auditedNode(cache, record, "n1");
  const claim = (viewer: string): Claim => ({ act: "a", viewer, atMs: Date.now() });
  const outcomes = new ClaimOutcomes();
  const first = [claim("v:x"), claim("v:y")];
  const r = outcomes.note(await s.flush([{ show: "s", epoch: "e", deltas: [], claims: first, acts: ["a"] }]));
  assert.deepEqual(
    first.map((c) => outcomes.of(c)),
    ["counted", "counted"],
  );
  assert.equal(r.totals.get(epochKey("s", "e"))?.get("a"), 2, "counted claims are in the totals of the deciding flush");
  await s.writer.writeOnce();
  assert.deepEqual(obj(await record.auditTotals("s", "e")), { a: 2 });

  // The cache loses everything: this node's claims now go to the record, after the quiet period (0 here).
  await cache.delete("bc:os:s:e");
  const later = [claim("v:x"), claim("v:z")];
  outcomes.note(await s.flush([{ show: "s", epoch: "e", deltas: [], claims: later, acts: ["a"] }]));
  assert.deepEqual(
    later.map((c) => outcomes.of(c)),
    ["pending", "pending"],
  );
  await s.writer.writeOnce();
  assert.deepEqual(obj(await record.countTotals("s", "e")), { a: 2 }, "the record reserved v:z, counting nothing yet");
  const t = outcomes.note(await s.flush([{ show: "s", epoch: "e", deltas: [], acts: ["a"] }]));
  assert.deepEqual(
    later.map((c) => outcomes.of(c)),
    ["duplicate", "counted"],
    "the record's primary key decides; the next flush answers it",
  );
  assert.equal(t.totals.get(epochKey("s", "e"))?.get("a"), 3, "the record-decided claim joins the live total of the flush that answers it");
  assert.equal(await cache.get("bc:c:s:e:a"), "3", "first in the live counter...");
  await s.writer.writeOnce();
  assert.deepEqual(obj(await record.countTotals("s", "e")), { a: 3 }, "...then in the record, with its audit row");
  assert.deepEqual(obj(await record.auditTotals("s", "e")), { a: 3 });
  await s.close();
});
