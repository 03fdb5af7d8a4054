/**
 * The Store contract, run against every implementation (see store.test.ts and
 * shared-store.test.ts): deltas in, global totals out, epochs apart, nothing lost on close.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { showEpochKey, type Store } from "./store.ts";

export interface StoreUnderTest {
  store: Store;
  /** A second store on the same backends (another node), when the implementation shares. */
  peer?: Store;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  const totals = async (s: Store, show: string, epoch: string, acts: string[]) =>
    Object.fromEntries((await s.flush([{ show, epoch, deltas: [], acts }])).get(showEpochKey(show, epoch)) ?? []);

  test(`${name}: deltas accumulate into totals; acts without deltas read back`, async () => {
    const { store, cleanup } = await make();
    try {
      let r = await store.flush([{ show: "s", epoch: "e1", deltas: [{ act: "a", delta: 3 }], acts: ["a", "b"] }]);
      assert.deepEqual(Object.fromEntries(r.get("s/e1") ?? []), { a: 3, b: 0 });
      r = await store.flush([{ show: "s", epoch: "e1", deltas: [{ act: "a", delta: 2 }, { act: "b", delta: 5 }], acts: ["a", "b"] }]);
      assert.deepEqual(Object.fromEntries(r.get("s/e1") ?? []), { a: 5, b: 5 });
      assert.deepEqual(await totals(store, "s", "e1", ["a", "b"]), { a: 5, b: 5 });
    } finally {
      await cleanup();
    }
  });

  test(`${name}: epochs and shows never mix; a retired epoch is flushed without totals`, async () => {
    const { store, cleanup } = await make();
    try {
      const r = await store.flush([
        { show: "s", epoch: "old", deltas: [{ act: "a", delta: 7 }], acts: [] },
        { show: "s", epoch: "new", deltas: [{ act: "a", delta: 1 }], acts: ["a"] },
        { show: "t", epoch: "new", deltas: [{ act: "a", delta: 4 }], acts: ["a"] },
      ]);
      assert.equal(r.has("s/old"), false);
      assert.deepEqual(Object.fromEntries(r.get("s/new") ?? []), { a: 1 });
      assert.deepEqual(Object.fromEntries(r.get("t/new") ?? []), { a: 4 });
      assert.deepEqual(await totals(store, "s", "old", ["a"]), { a: 7 });
    } finally {
      await cleanup();
    }
  });

  test(`${name}: a peer on the same backends sees the same totals`, async (t) => {
    const { store, peer, cleanup } = await make();
    try {
      if (!peer) {
        t.diagnostic("single-process implementation: no peer");
        assert.equal(peer, undefined);
        return;
      }
      await store.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 10 }], acts: ["a"] }]);
      await peer.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 5 }], acts: ["a"] }]);
      await new Promise((r) => setTimeout(r, 150)); // past the L1 lifetime
      assert.deepEqual(await totals(store, "s", "e", ["a"]), { a: 15 });
      assert.deepEqual(await totals(peer, "s", "e", ["a"]), { a: 15 });
    } finally {
      await cleanup();
    }
  });

  test(`${name}: health is ready on healthy backends; close persists and releases`, async () => {
    const { store, cleanup } = await make();
    try {
      assert.equal(store.health().ready, true);
      await store.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 2 }], acts: ["a"] }]);
    } finally {
      await cleanup();
    }
  });
}
