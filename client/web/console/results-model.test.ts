import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseLog, type StorageLike } from "./close-log.ts";
import { byRank, resultRows } from "./results-model.ts";

const info = {
  id: "demo",
  title: "Demo",
  acts: [
    { id: "a", name: "A" },
    { id: "b", name: "B" },
    { id: "c", name: "C" },
    { id: "d", name: "D" },
  ],
};

test("competition ranks: equal totals share a rank, the next rank skips", () => {
  const rows = resultRows(info, { a: 5, b: 9, c: 5 }, { act: "b", open: true }, new Map([["a", 1000]]), null);
  assert.deepEqual(
    rows.map((r) => [r.act, r.total, r.rank, r.status, r.closedAt]),
    [
      ["a", 5, 2, "closed", 1000],
      ["b", 9, 1, "open", null],
      ["c", 5, 2, "not_closed", null],
      ["d", 0, 4, "not_closed", null],
    ],
  );
  assert.deepEqual(
    byRank(rows).map((r) => r.act),
    ["b", "a", "c", "d"],
  );
});

test("the record's total and match come from the audit answer", () => {
  const audit = { show: "demo", epoch: "e", acts: { a: { live: 5, record: 4, logged: 4, match: false } } };
  const [a, b] = resultRows(info, { a: 5 }, { act: "a", open: false }, new Map(), audit);
  assert.deepEqual([a?.record, a?.match, a?.status], [4, false, "on_stage"]);
  assert.deepEqual([b?.record, b?.match], [null, null]);
});

class MemoryStorage implements StorageLike {
  readonly map = new Map<string, string>();
  get length(): number {
    return this.map.size;
  }
  key(i: number): string | null {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.map.set(k, v);
  }
  removeItem(k: string): void {
    this.map.delete(k);
  }
}

test("a close is a live change away from 'act open'; a snapshot after a reconnect is not one", () => {
  const storage = new MemoryStorage();
  const log = new CloseLog(storage);
  log.open("demo", "e1");
  assert.equal(log.observe({ act: "a", open: true }, 1), null, "the first stage is a snapshot");
  assert.equal(log.observe({ act: "a", open: false }, 2), "a");
  assert.equal(log.observe({ act: "b", open: true }, 3), null);
  assert.equal(log.observe({ act: "c", open: true }, 4), "b", "another act on stage closes the open one");
  log.resync();
  assert.equal(log.observe({ act: null, open: false }, 5), null, "closed while disconnected: not timed");
  assert.deepEqual(
    [...log.closes],
    [
      ["a", 2],
      ["b", 4],
    ],
  );
  assert.deepEqual(log.lastClosed, { act: "b", at: 4 });

  const again = new CloseLog(storage);
  again.open("demo", "e1");
  assert.deepEqual(
    [...again.closes],
    [
      ["a", 2],
      ["b", 4],
    ],
    "kept across a reload",
  );
  again.observe({ act: "a", open: true }, 6);
  assert.equal(again.closes.has("a"), false, "re-opened: no close time until it closes again");

  again.open("demo", "e2");
  assert.equal(again.closes.size, 0, "a new epoch starts empty");
  assert.deepEqual([...storage.map.keys()], [], "and the old epoch's times are dropped");
});
