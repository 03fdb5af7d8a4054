/**
 * AtomicStore: the Store contract for two workers on one counter buffer (the supervisor's slot
 * table in-process), then the failures the supervisor can hand a worker (no answer, table full)
 * and slot reclamation across workers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../ops/logger.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { AtomicStore, SLOT_BYTES, type SlotClient, type SlotKey } from "./atomic-store.ts";
import { ClaimBook } from "./claim-book.ts";
import { SlotTable } from "./slot-table.ts";
import { sharingContract } from "./store.contract.ts";
import type { Store } from "./store.ts";

/** One node: a buffer, its slot table, and a worker store per holder id. */
function node(capacity = 64, isLive: (show: string, epoch: string) => boolean = () => true) {
  const buffer = new SharedArrayBuffer(capacity * SLOT_BYTES);
  const table = new SlotTable(new BigInt64Array(buffer), isLive);
  const book = new ClaimBook(isLive);
  const faults = { down: false, released: [] as SlotKey[] };
  const client = (holder: number): SlotClient => ({
    slotFor: async (key) => {
      if (faults.down) throw new Error("supervisor did not answer slot-request within 5000 ms");
      return table.slotFor(holder, key);
    },
    release: (keys) => {
      faults.released.push(...keys);
      table.release(holder, keys);
    },
    claim: async (claims) => {
      if (faults.down) throw new Error("supervisor did not answer claim-request within 5000 ms");
      return book.decide(holder, claims);
    },
  });
  const worker = (holder: number) => new AtomicStore(buffer, client(holder), silentLogger);
  return { table, faults, worker };
}

const read = async (s: Store, show: string, epoch: string, acts: string[]) =>
  Object.fromEntries((await s.flush([{ show, epoch, deltas: [], acts }])).totals.get(epochKey(show, epoch)) ?? []);

sharingContract("AtomicStore (two workers on one buffer)", async () => {
  const { table, worker } = node();
  const [store, peer] = [worker(1), worker(2)];
  return {
    store,
    peer,
    afterClose: async () => {
      const released = table.used === 0; // the closed store held every key alone
      return { kept: (await read(peer, "s", "e", ["a"])).a ?? 0, released };
    },
    cleanup: async () => {
      await store.close();
      await peer.close();
    },
  };
});

test("the supervisor does not answer: deltas are retained, counted in totals and health, added once it answers", async () => {
  const { faults, worker } = node();
  const [w1, w2] = [worker(1), worker(2)];
  faults.down = true;
  const r = await w1.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 4 }], acts: ["a"] }]);
  assert.equal(r.totals.get("s/e")?.get("a"), 4, "own retained buzzes are in the published total");
  assert.equal(w1.stats().retained, 4);
  assert.equal(w1.health().ready, false);
  assert.match(w1.health().checks.store ?? "", /retaining 4 buzzes: supervisor did not answer/);
  assert.equal(
    w1.flushSync([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 1 }], acts: ["a"] }]),
    null,
    "no synchronous flush while retaining",
  );
  await w1.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 1 }], acts: ["a"] }]);
  assert.equal(w1.stats().retained, 5);
  assert.equal(w1.slotErrors, 2);
  faults.down = false;
  assert.deepEqual(await read(w1, "s", "e", ["a"]), { a: 5 });
  assert.deepEqual(await read(w2, "s", "e", ["a"]), { a: 5 }, "the other worker sees every retained buzz");
  assert.equal(w1.stats().retained, 0);
  assert.equal(w1.health().ready, true);
});

test("the counter table is full: deltas wait for a slot; a retired epoch frees slots and they land", async () => {
  const { table, worker } = node(2);
  const w = worker(1);
  await w.flush([
    {
      show: "s",
      epoch: "e1",
      deltas: [
        { act: "a", delta: 1 },
        { act: "b", delta: 1 },
      ],
      acts: ["a", "b"],
    },
  ]);
  assert.equal(table.used, 2);
  const r = await w.flush([{ show: "t", epoch: "x", deltas: [{ act: "a", delta: 6 }], acts: ["a"] }]);
  assert.equal(r.totals.get("t/x")?.get("a"), 6);
  assert.equal(w.stats().retained, 6);
  assert.match(w.health().checks.store ?? "", /counter table full/);
  assert.equal(table.stats.full, 1);
  // s resets: its old epoch is flushed once more (retired), which releases its two slots.
  await w.flush([
    { show: "s", epoch: "e1", deltas: [], retired: true },
    { show: "t", epoch: "x", deltas: [{ act: "a", delta: 1 }], acts: ["a"] },
  ]);
  assert.deepEqual(await read(w, "t", "x", ["a"]), { a: 7 }, "nothing lost while the table was full");
  assert.equal(w.stats().retained, 0);
  assert.equal(table.used, 1);
});

test("a slot is freed only once every worker holding it released it or died, and is then reused from zero", async () => {
  const { table, worker, faults } = node(1, () => false);
  const [w1, w2] = [worker(1), worker(2)];
  await w1.flush([{ show: "s", epoch: "e1", deltas: [{ act: "a", delta: 3 }], acts: ["a"] }]);
  await w2.flush([{ show: "s", epoch: "e1", deltas: [{ act: "a", delta: 2 }], acts: ["a"] }]);
  await w1.flush([{ show: "s", epoch: "e1", deltas: [], retired: true }]); // w1 retires e1
  assert.deepEqual(faults.released, [{ show: "s", epoch: "e1", act: "a" }]);
  assert.equal(table.used, 1, "w2 still holds it");
  assert.deepEqual(await read(w2, "s", "e1", ["a"]), { a: 5 }, "w2's reads are untouched");
  table.dropHolder(2); // w2 dies
  assert.equal(table.used, 0);
  assert.equal(table.slotFor(3, { show: "s", epoch: "e2", act: "a" }), 0, "the one slot is reused");
  const w3 = worker(3);
  assert.deepEqual(await read(w3, "s", "e2", ["a"]), { a: 0 }, "from zero");
});

test("an act removed from a live epoch gives its slot back; put back, it keeps its count", async () => {
  const live = new Map([["s", "e"]]);
  const { table, worker } = node(4, (show, epoch) => live.get(show) === epoch);
  const w = worker(1);
  await w.flush([
    {
      show: "s",
      epoch: "e",
      deltas: [
        { act: "a", delta: 1 },
        { act: "b", delta: 8 },
      ],
      acts: ["a", "b"],
    },
  ]);
  assert.equal(table.used, 2);
  await w.flush([{ show: "s", epoch: "e", deltas: [], acts: ["a"] }]); // b removed from the show
  assert.equal(table.used, 1);
  assert.equal(w.stats().entries, 1);
  assert.deepEqual(await read(w, "s", "e", ["a", "b"]), { a: 1, b: 8 }, "b restored from the supervisor");
  live.set("s", "e2");
  table.retire("s", "e");
  await w.flush([{ show: "s", epoch: "e", deltas: [], retired: true }]);
  assert.equal(table.used, 0);
  assert.deepEqual(await read(w, "s", "e", ["a"]), { a: 0 }, "a retired epoch's values are dropped");
});

test("SlotTable: one slot per key, stable, refuses past capacity with a typed error", () => {
  const table = new SlotTable(new BigInt64Array(2), () => true);
  const k = (act: string) => ({ show: "s", epoch: "e", act });
  assert.equal(table.slotFor(1, k("x")), 0);
  assert.equal(table.slotFor(2, k("y")), 1);
  assert.equal(table.slotFor(2, k("x")), 0);
  assert.throws(
    () => table.slotFor(1, k("z")),
    (err: unknown) => err instanceof RangeError && (err as { code?: string }).code === "counter_table_full",
  );
});
