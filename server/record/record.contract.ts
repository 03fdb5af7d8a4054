/**
 * The Record contract: every implementation runs these tests (memory-record.test.ts,
 * mysql-record.test.ts). `make` returns a record on empty storage that has not been migrated.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RecordError, type CountRow, type Record, type ShowRecord } from "./record.ts";

export type MakeRecord = () => Promise<{ record: Record; cleanup: () => Promise<void> }>;

const row = (act: string, delta: number, show = "s1", epoch = "e1"): CountRow => ({ show, epoch, act, delta });

function showRec(version: number, patch: Partial<ShowRecord> = {}): ShowRecord {
  return {
    show: {
      id: "s1",
      title: "Show one",
      acts: [
        { id: "a1", name: "Act 1" },
        { id: "a2", name: "Act 2" },
      ],
    },
    stage: { act: "a1", open: true },
    epoch: "e1",
    version,
    ...patch,
  };
}

const asObj = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

export function recordContract(name: string, make: MakeRecord): void {
  async function withRecord(fn: (r: Record) => Promise<void>): Promise<void> {
    const { record, cleanup } = await make();
    try {
      await record.migrate();
      await fn(record);
    } finally {
      await cleanup();
    }
  }

  describe(`Record contract: ${name}`, () => {
    test("migrate is idempotent, sequentially and concurrently", async () => {
      await withRecord(async (r) => {
        await r.migrate();
        await Promise.all([r.migrate(), r.migrate()]);
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("a1", 1)] });
        await r.migrate();
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 1 });
        await r.ping();
      });
    });

    test("totals are the sum over nodes", async () => {
      await withRecord(async (r) => {
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("a1", 3), row("a2", 1)] });
        await r.persistCounts({ node: "n2", batchSeq: 1, rows: [row("a1", 4)] });
        await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row("a1", 10)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 17, a2: 1 });
        // A retry of n2's batch changes nothing, while n1's next seq still applies: each node keeps its own rows.
        await r.persistCounts({ node: "n2", batchSeq: 1, rows: [row("a1", 4)] });
        await r.persistCounts({ node: "n1", batchSeq: 3, rows: [row("a2", 2)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 17, a2: 3 });
        assert.deepEqual(asObj(await r.countTotals("s1", "nope")), {});
      });
    });

    test("a retried batch is applied once", async () => {
      await withRecord(async (r) => {
        const batch = { node: "n1", batchSeq: 1, rows: [row("a1", 5), row("a2", 2)] };
        await r.persistCounts(batch);
        await r.persistCounts(batch);
        await Promise.all([r.persistCounts(batch), r.persistCounts(batch)]);
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 5, a2: 2 });
        assert.equal(await r.lastBatchSeq("n1"), 1);
      });
    });

    test("an older batch arriving late is ignored; seq gaps are allowed", async () => {
      await withRecord(async (r) => {
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("a1", 1)] });
        await r.persistCounts({ node: "n1", batchSeq: 3, rows: [row("a1", 100)] });
        await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row("a1", 1000), row("a2", 7)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 101 });
        assert.equal(await r.lastBatchSeq("n1"), 3);
        // Another node's sequence is independent.
        await r.persistCounts({ node: "n2", batchSeq: 2, rows: [row("a2", 7)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 101, a2: 7 });
      });
    });

    test("lastBatchSeq is per node, 0 when none, and advances on an empty batch", async () => {
      await withRecord(async (r) => {
        assert.equal(await r.lastBatchSeq("n1"), 0);
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [] });
        await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row("a1", 0)] });
        assert.equal(await r.lastBatchSeq("n1"), 2);
        assert.equal(await r.lastBatchSeq("n2"), 0);
        await r.persistCounts({ node: "n2", batchSeq: 41, rows: [row("a1", 1)] });
        assert.equal(await r.lastBatchSeq("n2"), 41);
        assert.equal(await r.lastBatchSeq("n1"), 2);
      });
    });

    test("epochs, shows and case-different ids are kept apart", async () => {
      await withRecord(async (r) => {
        await r.persistCounts({
          node: "n1",
          batchSeq: 1,
          rows: [row("a1", 1, "s1", "e1"), row("a1", 2, "s1", "e2"), row("a1", 4, "s2", "e1"), row("A1", 8, "s1", "e1")],
        });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { A1: 8, a1: 1 });
        assert.deepEqual(asObj(await r.countTotals("s1", "e2")), { a1: 2 });
        assert.deepEqual(asObj(await r.countTotals("s2", "e1")), { a1: 4 });
        assert.deepEqual(asObj(await r.countTotals("S1", "e1")), {});
      });
    });

    test("duplicate keys in a batch are summed; invalid batches reject and apply nothing", async () => {
      await withRecord(async (r) => {
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("a2", 1), row("a1", 2), row("a2", 3)] });
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 2, a2: 4 });
        const bad = [
          { node: "n1", batchSeq: 2, rows: [row("a1", 1), row("a2", -1)] },
          { node: "n1", batchSeq: 2, rows: [row("a1", 1.5)] },
          { node: "n1", batchSeq: 0, rows: [row("a1", 1)] },
          { node: "", batchSeq: 2, rows: [row("a1", 1)] },
          { node: "n1", batchSeq: 2, rows: [row("", 1)] },
        ];
        for (const b of bad) {
          await assert.rejects(r.persistCounts(b), (e: unknown) => e instanceof RecordError && e.code === "query");
        }
        assert.deepEqual(asObj(await r.countTotals("s1", "e1")), { a1: 2, a2: 4 });
        assert.equal(await r.lastBatchSeq("n1"), 1);
      });
    });

    test("counts above 2^32 come back exact, as numbers", async () => {
      await withRecord(async (r) => {
        const big = 2 ** 32 + 5;
        await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("a1", big)] });
        await r.persistCounts({ node: "n2", batchSeq: 1, rows: [row("a1", big)] });
        await r.persistCounts({ node: "n1", batchSeq: 2 ** 40, rows: [row("a1", 1)] });
        const totals = await r.countTotals("s1", "e1");
        assert.equal(totals.get("a1"), 2 * big + 1);
        assert.equal(typeof totals.get("a1"), "number");
        assert.equal(await r.lastBatchSeq("n1"), 2 ** 40);
      });
    });

    test("saveShow keeps the newest version; loadShow and listShows return copies", async () => {
      await withRecord(async (r) => {
        assert.equal(await r.loadShow("s1"), null);
        await r.saveShow(showRec(2));
        await r.saveShow(showRec(1, { show: { id: "s1", title: "Stale", acts: [{ id: "x", name: "X" }] } }));
        await r.saveShow(showRec(2, { epoch: "same-version-loses" }));
        assert.deepEqual(await r.loadShow("s1"), showRec(2));
        const newer = showRec(5, {
          show: {
            id: "s1",
            title: "Renamed",
            acts: [
              { id: "a2", name: "Two" },
              { id: "a1", name: "One" },
            ],
          },
          stage: { act: null, open: false },
          epoch: "e2",
        });
        await r.saveShow(newer);
        const loaded = await r.loadShow("s1");
        assert.deepEqual(loaded, newer);
        loaded?.show.acts.push({ id: "zz", name: "mutated" });
        assert.deepEqual(await r.loadShow("s1"), newer);
        await r.saveShow({ ...showRec(1), show: { id: "a-show", title: "A", acts: [] } });
        assert.deepEqual(
          (await r.listShows()).map((s) => [s.show.id, s.version]),
          [
            ["a-show", 1],
            ["s1", 5],
          ],
        );
        await assert.rejects(
          r.saveShow({ ...showRec(9), show: { id: "bad id!", title: "x", acts: [] } }),
          (e: unknown) => e instanceof RecordError && e.code === "query",
        );
      });
    });

    test("concurrent saves of one show keep the highest version", async () => {
      await withRecord(async (r) => {
        await Promise.all([3, 1, 4, 2].map((v) => r.saveShow(showRec(v, { epoch: `e${v}` }))));
        assert.deepEqual(await r.loadShow("s1"), showRec(4, { epoch: "e4" }));
      });
    });

    test("saveShow with a base is a compare-and-swap: one successor per version, the others see the current show", async () => {
      await withRecord(async (r) => {
        assert.deepEqual(await r.saveShow(showRec(5), null), { ok: true }, "create: no show yet");
        assert.deepEqual(
          await r.saveShow(showRec(6, { epoch: "late" }), null),
          { ok: false, current: showRec(5) },
          "create over an existing show",
        );
        assert.deepEqual(await r.saveShow(showRec(6, { epoch: "e6" }), 5), { ok: true });
        // A second writer that read version 5 too: refused, even with a higher version.
        assert.deepEqual(await r.saveShow(showRec(9, { epoch: "stale" }), 5), { ok: false, current: showRec(6, { epoch: "e6" }) });
        await assert.rejects(
          r.saveShow(showRec(6), 6),
          (e: unknown) => e instanceof RecordError && e.code === "query",
          "version not above base",
        );
        // Many writers of one base at once (the same version each, as wall clocks tie): exactly one stores.
        const got = await Promise.all(Array.from({ length: 6 }, (_, i) => r.saveShow(showRec(7, { epoch: `w${i}` }), 6)));
        const won = got.flatMap((g, i) => (g.ok ? [i] : []));
        assert.equal(won.length, 1, `one writer wins: ${JSON.stringify(got)}`);
        const stored = await r.loadShow("s1");
        assert.equal(stored?.epoch, `w${String(won[0])}`);
        for (const g of got) if (!g.ok) assert.deepEqual(g.current, stored, "every loser is told the winner's show");
        // Creates of one new show at once: one stores it.
        const creates = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            r.saveShow({ ...showRec(1, { epoch: `c${i}` }), show: { id: "fresh", title: "F", acts: [] } }, null),
          ),
        );
        assert.equal(creates.filter((c) => c.ok).length, 1, `one create wins: ${JSON.stringify(creates)}`);
      });
    });

    test("stage history gets a row on first save and on every stage or epoch change", async () => {
      await withRecord(async (r) => {
        assert.deepEqual(await r.stageHistory("s1"), []);
        const before = Date.now();
        await r.saveShow(showRec(1));
        await r.saveShow(showRec(2, { show: { id: "s1", title: "Title only", acts: [] } }));
        await r.saveShow(showRec(3, { stage: { act: "a1", open: false } }));
        await r.saveShow(showRec(4, { stage: { act: "a2", open: false } }));
        await r.saveShow(showRec(5, { stage: { act: "a2", open: false }, epoch: "e2" }));
        await r.saveShow(showRec(4, { stage: { act: null, open: true } })); // stale: no row
        const h = await r.stageHistory("s1");
        assert.deepEqual(
          h.map(({ epoch, act, open, version }) => ({ epoch, act, open, version })),
          [
            { epoch: "e1", act: "a1", open: true, version: 1 },
            { epoch: "e1", act: "a1", open: false, version: 3 },
            { epoch: "e1", act: "a2", open: false, version: 4 },
            { epoch: "e2", act: "a2", open: false, version: 5 },
          ],
        );
        for (const c of h) assert.ok(Math.abs(c.at - before) < 10 * 60_000, `at ${c.at} is a plausible time`);
      });
    });

    test("a scheduled stage change is stored with the show; its history row carries its instant", async () => {
      await withRecord(async (r) => {
        const t0 = 1_700_000_000_000; // versions are wall-clock ms: a change at or after `at` finds it applied
        const sched = showRec(t0 + 10, { next: { act: "a1", open: false, at: t0 + 1000 } });
        await r.saveShow(showRec(t0));
        await r.saveShow(sched);
        assert.deepEqual(await r.loadShow("s1"), sched);
        assert.deepEqual(
          (await r.listShows()).find((s) => s.show.id === "s1"),
          sched,
        );
        await r.saveShow(showRec(t0 + 20, { next: { act: "a1", open: false, at: t0 + 1000 } })); // the same schedule: no row
        await r.saveShow(showRec(t0 + 500)); // replaced before its instant: stays open
        assert.deepEqual(await r.loadShow("s1"), showRec(t0 + 500), "an immediate change clears the schedule");
        await r.saveShow(showRec(t0 + 600, { next: { act: "a1", open: false, at: t0 + 800 } }));
        await r.saveShow(showRec(t0 + 900, { stage: { act: "a1", open: false }, show: { id: "s1", title: "Edited", acts: [] } })); // after it: no row
        const h = (await r.stageHistory("s1")).map(({ act, open, version, at }) => ({
          act,
          open,
          version,
          at: at - t0 < 10_000 ? at - t0 : "now",
        }));
        assert.deepEqual(h, [
          { act: "a1", open: true, version: t0, at: "now" },
          { act: "a1", open: false, version: t0 + 10, at: 1000 },
          { act: "a1", open: true, version: t0 + 500, at: "now" },
          { act: "a1", open: false, version: t0 + 600, at: 800 },
        ]);
        await assert.rejects(
          r.saveShow(showRec(t0 + 1000, { next: { act: "a1", open: false, at: -5 } })),
          (e: unknown) => e instanceof RecordError && e.code === "query",
        );
      });
    });

    test("lockClose: the first token holds a close's lock for good; each close has its own lock", async () => {
      await withRecord(async (r) => {
        assert.equal(await r.lockClose("s1", "e1", 7, "n1.aa"), true);
        assert.equal(await r.lockClose("s1", "e1", 7, "n2.bb"), false, "another token finds it held");
        assert.equal(await r.lockClose("s1", "e1", 7, "n1.aa"), true, "the holder's repeated call (its answer was lost) is recognised");
        assert.equal(await r.lockClose("s1", "e1", 7, "n2.bb"), false);
        assert.equal(await r.lockClose("s1", "e1", 8, "n2.bb"), true, "another close (version) of the same epoch");
        assert.equal(await r.lockClose("s1", "e2", 7, "n2.bb"), true, "the same version in another epoch");
        assert.equal(await r.lockClose("s2", "e1", 7, "n2.bb"), true, "another show");
        assert.equal(await r.lockClose("s1", "e1", 8, "n1.aa"), false);
      });
    });

    test("lockClose: of concurrent callers with different tokens, exactly one holds the lock", async () => {
      await withRecord(async (r) => {
        const tokens = ["n1.aa", "n2.bb", "n3.cc", "n4.dd"];
        const got = await Promise.all(tokens.map((t) => r.lockClose("s1", "e1", 3, t)));
        assert.equal(got.filter((x) => x).length, 1, JSON.stringify(got));
        const holder = tokens[got.indexOf(true)] ?? "";
        assert.deepEqual(await Promise.all(tokens.map((t) => r.lockClose("s1", "e1", 3, t))), got, "and keeps holding it");
        assert.equal(await r.lockClose("s1", "e1", 3, holder), true);
      });
    });

    test("lockClose: bad input is refused with RecordError query and takes nothing", async () => {
      await withRecord(async (r) => {
        const bad: Array<[string, string, number, string]> = [
          ["", "e1", 1, "t"],
          ["s".repeat(65), "e1", 1, "t"],
          ["s1", "", 1, "t"],
          ["s1", "e1", -1, "t"],
          ["s1", "e1", 1.5, "t"],
          ["s1", "e1", Number.MAX_SAFE_INTEGER + 1, "t"],
          ["s1", "e1", 1, ""],
          ["s1", "e1", 1, "t".repeat(161)],
        ];
        for (const [show, epoch, version, token] of bad) {
          await assert.rejects(
            r.lockClose(show, epoch, version, token),
            (e: unknown) => e instanceof RecordError && e.code === "query",
            JSON.stringify([show.length, epoch, version, token.length]),
          );
        }
        assert.equal(await r.lockClose("s1", "e1", 1, "t".repeat(160)), true, "a token of the longest length is stored whole");
        assert.equal(await r.lockClose("s1", "e1", 1, "t".repeat(159)), false);
        assert.equal(await r.lockClose("s1", "e1", 1, "t".repeat(160)), true);
      });
    });

    test("after close every method rejects with RecordError unreachable", async () => {
      const { record, cleanup } = await make();
      try {
        await record.migrate();
        await record.close();
        await record.close();
        await assert.rejects(record.ping(), (e: unknown) => e instanceof RecordError && e.code === "unreachable");
        await assert.rejects(record.lastBatchSeq("n1"), (e: unknown) => e instanceof RecordError && e.code === "unreachable");
      } finally {
        await cleanup();
      }
    });
  });
}
