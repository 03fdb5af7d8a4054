/**
 * The Store contract, run against every implementation (memory-store.test.ts, atomic-store.test.ts,
 * shared-store.test.ts): deltas in, global totals out, epochs apart, peers agree, retired epochs do
 * not pile up, nothing lost on close and every backend released.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { epochKey } from "../shows/epoch-key.ts";
import type { Claim, Store } from "./store.ts";
import { pollUntil } from "../../test/harness/wait.ts";
import { ClaimOutcomes } from "../../test/harness/claim-outcomes.ts";

export interface StoreUnderTest {
  store: Store;
  /** After `store.close()`: what the backends kept for show "s", epoch "e", act "a" (read by a path that outlives the store), and whether the store released every backend it held. */
  afterClose: () => Promise<{ kept: number; released: boolean }>;
  /** Make everything handed over so far durable now (stores that persist on a timer). */
  persistNow?: () => Promise<void>;
  cleanup: () => Promise<void>;
}

export interface SharingUnderTest extends StoreUnderTest {
  /** A second store on the same backends (another node or worker). */
  peer: Store;
}

const totals = async (s: Store, show: string, epoch: string, acts: string[]) =>
  Object.fromEntries((await s.flush([{ show, epoch, deltas: [], acts }])).totals.get(epochKey(show, epoch)) ?? []);

export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  test(`${name}: deltas accumulate into totals; acts without deltas read back`, async () => {
    const { store, cleanup } = await make();
    try {
      let r = await store.flush([{ show: "s", epoch: "e1", deltas: [{ act: "a", delta: 3 }], acts: ["a", "b"] }]);
      assert.deepEqual(Object.fromEntries(r.totals.get("s/e1") ?? []), { a: 3, b: 0 });
      r = await store.flush([
        {
          show: "s",
          epoch: "e1",
          deltas: [
            { act: "a", delta: 2 },
            { act: "b", delta: 5 },
          ],
          acts: ["a", "b"],
        },
      ]);
      assert.deepEqual(Object.fromEntries(r.totals.get("s/e1") ?? []), { a: 5, b: 5 });
      assert.deepEqual(await totals(store, "s", "e1", ["a", "b"]), { a: 5, b: 5 });
    } finally {
      await cleanup();
    }
  });

  test(`${name}: epochs and shows never mix; a retired epoch is flushed without totals`, async () => {
    const { store, cleanup } = await make();
    try {
      await store.flush([{ show: "s", epoch: "old", deltas: [{ act: "a", delta: 2 }], acts: ["a"] }]);
      const r = await store.flush([
        { show: "s", epoch: "old", deltas: [{ act: "a", delta: 7 }], retired: true },
        { show: "s", epoch: "new", deltas: [{ act: "a", delta: 1 }], acts: ["a"] },
        { show: "t", epoch: "new", deltas: [{ act: "a", delta: 4 }], acts: ["a"] },
      ]);
      assert.deepEqual([...r.totals.keys()].sort(), ["s/new", "t/new"]);
      assert.deepEqual(Object.fromEntries(r.totals.get("s/new") ?? []), { a: 1 });
      assert.deepEqual(Object.fromEntries(r.totals.get("t/new") ?? []), { a: 4 });
    } finally {
      await cleanup();
    }
  });

  test(`${name}: a show reset 1,000 times: entries held and entries walked per flush do not grow`, async () => {
    const sut = await make();
    const { store } = sut;
    const reset = async (i: number) => {
      await store.flush([
        { show: "s", epoch: `e${i - 1}`, deltas: [{ act: "a", delta: 1 }], retired: true },
        {
          show: "s",
          epoch: `e${i}`,
          deltas: [
            { act: "a", delta: 1 },
            { act: "b", delta: 2 },
          ],
          acts: ["a", "b"],
        },
      ]);
      if (i % 100 === 0) await sut.persistNow?.();
    };
    const settle = async (i: number) => {
      await sut.persistNow?.();
      await totals(store, "s", `e${i}`, ["a", "b"]); // a flush after persisting drops what is settled
    };
    try {
      for (let i = 1; i <= 10; i++) await reset(i);
      await settle(10);
      const early = store.stats();
      for (let i = 11; i <= 1000; i++) await reset(i);
      await settle(1000);
      const late = store.stats();
      assert.ok(late.entries <= early.entries, `entries held: ${early.entries} after 10 resets, ${late.entries} after 1,000`);
      assert.ok(late.walked <= early.walked, `entries walked per flush: ${early.walked} after 10 resets, ${late.walked} after 1,000`);
      assert.ok(late.entries <= 4, `only the live epoch's acts are held (${late.entries})`);
      assert.equal(late.retained, 0);
    } finally {
      await sut.cleanup();
    }
  });

  test(`${name}: health is ready on healthy backends; close applies everything and releases the backends`, async () => {
    const sut = await make();
    try {
      assert.equal(sut.store.health().ready, true);
      assert.deepEqual(sut.store.health().checks, Object.fromEntries(Object.keys(sut.store.health().checks).map((k) => [k, "ok"])));
      await sut.store.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 2 }], acts: ["a"] }]);
      await sut.store.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 3 }], acts: ["a"] }]);
      await sut.store.close();
      const after = await sut.afterClose();
      assert.equal(after.kept, 5, "every delta handed over is in the backend after close");
      assert.equal(after.released, true, "close released every backend");
    } finally {
      await sut.cleanup();
    }
  });
}

/** The part of the contract only stores that share backends can keep. */
export function sharingContract(name: string, make: () => Promise<SharingUnderTest>): void {
  storeContract(name, make);

  test(`${name}: a peer on the same backends sees the same totals`, async () => {
    const { store, peer, cleanup } = await make();
    try {
      await store.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 10 }], acts: ["a"] }]);
      await peer.flush([{ show: "s", epoch: "e", deltas: [{ act: "a", delta: 5 }], acts: ["a"] }]);
      await pollUntil(
        () => totals(store, "s", "e", ["a"]),
        (t) => t.a === 15,
        "store sees the peer's 5",
      );
      await pollUntil(
        () => totals(peer, "s", "e", ["a"]),
        (t) => t.a === 15,
        "peer sees the store's 10",
      );
    } finally {
      await cleanup();
    }
  });

  test(`${name}: two-phase tick: after both flushed, each one's readTotals has both deltas at once`, async () => {
    const { store, peer, cleanup } = await make();
    try {
      const want = [{ show: "s", epoch: "tp", acts: ["a", "b"] }];
      await store.flush([{ show: "s", epoch: "tp", deltas: [], acts: ["a", "b"] }]);
      await peer.flush([{ show: "s", epoch: "tp", deltas: [], acts: ["a", "b"] }]);
      for (let round = 1; round <= 3; round++) {
        // Phase 1 on both units, then phase 2: no polling, the first read has everything.
        await store.flush([{ show: "s", epoch: "tp", deltas: [{ act: "a", delta: 2 }], acts: ["a", "b"] }]);
        await peer.flush([{ show: "s", epoch: "tp", deltas: [{ act: "b", delta: 3 }], acts: ["a", "b"] }]);
        for (const st of [store, peer]) {
          const r = await st.readTotals?.(want);
          assert.ok(r, "a sharing store reads totals separately");
          assert.deepEqual(Object.fromEntries(r.get("s/tp") ?? []), { a: 2 * round, b: 3 * round }, `round ${round}`);
        }
      }
    } finally {
      await cleanup();
    }
  });

  test(`${name}: a retired epoch's last deltas reach a peer still on that epoch`, async () => {
    const { store, peer, cleanup } = await make();
    try {
      await store.flush([{ show: "s", epoch: "old", deltas: [{ act: "a", delta: 2 }], acts: ["a"] }]);
      await peer.flush([{ show: "s", epoch: "old", deltas: [], acts: ["a"] }]);
      await store.flush([{ show: "s", epoch: "old", deltas: [{ act: "a", delta: 7 }], retired: true }]);
      await pollUntil(
        () => totals(peer, "s", "old", ["a"]),
        (t) => t.a === 9,
        "peer sees 2 + 7",
      );
    } finally {
      await cleanup();
    }
  });

  test(`${name}: once claims of one viewer on two stores at once count once, in the totals of the deciding flush`, async () => {
    const { store, peer, cleanup } = await make();
    try {
      assert.equal(store.decidesClaims, true);
      const claim = (viewer: string): Claim => ({ act: "a", viewer, atMs: Date.now() });
      const mine = ["v1", "v2", "v3"].map(claim);
      const theirs = ["v2", "v3", "v4"].map(claim);
      // Each claim is answered once, by one flush result (ClaimOutcomes throws on a second answer).
      const outcomes = new ClaimOutcomes();
      const countedBy = new Map<Store, number>();
      const flush = async (st: Store, claims: Claim[]) => {
        const r = outcomes.note(await st.flush([{ show: "s", epoch: "c", deltas: [], claims, acts: ["a"] }]));
        const n = (countedBy.get(st) ?? 0) + r.decisions.filter((d) => d.outcome === "counted").length;
        countedBy.set(st, n);
        const total = r.totals.get(epochKey("s", "c"))?.get("a") ?? 0;
        assert.ok(total >= n, `a store's totals include every claim it answered counted (${total} < ${n})`);
      };
      await Promise.all([flush(store, mine), flush(peer, theirs)]);
      // Undecided claims are retained by their store and decided by a later flush.
      const all = [...mine, ...theirs];
      for (let i = 0; i < 100 && all.some((c) => outcomes.of(c) === "pending"); i++) {
        await Promise.all([flush(store, []), flush(peer, [])]);
        await new Promise((r) => setTimeout(r, 50));
      }
      const counted = (v: string) => all.filter((c) => c.viewer === v && outcomes.of(c) === "counted").length;
      assert.deepEqual(
        ["v1", "v2", "v3", "v4"].map(counted),
        [1, 1, 1, 1],
        `outcomes: ${JSON.stringify(all.map((c) => [c.viewer, outcomes.of(c)]))}`,
      );
      await pollUntil(
        () => totals(store, "s", "c", ["a"]),
        (t) => t.a === 4,
        "store's total is the 4 counted claims",
      );
      await pollUntil(
        () => totals(peer, "s", "c", ["a"]),
        (t) => t.a === 4,
        "peer's total is the 4 counted claims",
      );
    } finally {
      await cleanup();
    }
  });
}

/** The former name of pollUntil (test/harness/wait.ts), same arguments: for tests written against it. */
export { pollUntil as until } from "../../test/harness/wait.ts";
