/**
 * Phase 2 on the flush quorum (store/flush-quorum.ts): it starts as soon as the quorum says every
 * unit's flush landed, at most once per tick, and at the Ticker's deadline otherwise. Unit tests of
 * the tick loop's logic: the quorum is driven by hand (the real ones run in test/early-publish.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../ops/logger.ts";
import { Metrics } from "../ops/metrics.ts";
import { MemoryShowSource } from "../shows/show-source.ts";
import { ShowRegistry } from "../shows/show-registry.ts";
import type { FlushQuorum } from "../store/flush-quorum.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { UnlimitedPolicy } from "./buzz-policy.ts";
import { Counting } from "./show-counts.ts";
import { TickLoop } from "./tick-loop.ts";

const turn = () => new Promise((r) => setImmediate(r));

class HandQuorum implements FlushQuorum {
  readonly calls: Array<{ tick: number; deadlineMs: number; answer(all: boolean): void }> = [];
  landed(tick: number, deadlineMs: number): Promise<boolean> {
    return new Promise((answer) => this.calls.push({ tick, deadlineMs, answer }));
  }
}

async function setup(offsetMs: number) {
  const shows = new ShowRegistry(new MemoryShowSource());
  await shows.put("s", { title: "S", acts: [{ id: "a", name: "A" }] });
  await shows.setStage("s", { act: "a", open: true });
  const counting = new Counting(shows, new UnlimitedPolicy());
  const quorum = new HandQuorum();
  const published: number[] = [];
  const loop = new TickLoop(
    counting,
    new MemoryStore(),
    { takeAcks: () => () => {}, localWatching: () => 0, totals: (_s, _f, at) => (published.push(at.ts), 1) },
    new Metrics(),
    silentLogger,
    { tickMs: 100, publishOffsetMs: offsetMs, quorum, budgetPct: 50 },
  );
  return { loop, quorum, published };
}

test("every unit flushed: phase 2 starts before its deadline, once", async () => {
  const { loop, quorum, published } = await setup(20);
  loop.flushPhase(7, 0, false);
  assert.deepEqual(
    quorum.calls.map((c) => [c.tick, c.deadlineMs]),
    [[7, 720]],
    "the landed flush is reported with the tick's deadline",
  );
  await turn();
  assert.deepEqual(published, [], "nothing before the quorum answers");
  quorum.calls[0]!.answer(true);
  await turn();
  assert.deepEqual(published, [700], "published on the quorum");
  loop.publishPhase(7);
  assert.deepEqual(published, [700], "the deadline that follows publishes nothing more");
  assert.deepEqual(loop.phase2Starts, { quorum: 1, offset: 0 });
});

test("a unit missing: phase 2 waits for its deadline; a late quorum answer changes nothing", async () => {
  const { loop, quorum, published } = await setup(20);
  loop.flushPhase(8, 0, false);
  quorum.calls[0]!.answer(false);
  await turn();
  assert.deepEqual(published, []);
  loop.publishPhase(8);
  assert.deepEqual(published, [800], "the deadline publishes");
  loop.flushPhase(9, 0, false);
  loop.publishPhase(9);
  quorum.calls[1]!.answer(true);
  await turn();
  assert.deepEqual(published, [800, 900], "a quorum after the deadline publishes nothing twice");
  assert.deepEqual(loop.phase2Starts, { quorum: 0, offset: 2 });
});

test("no quorum with a zero offset (one process), and none for a start-up or shutdown flush", async () => {
  const zero = await setup(0);
  zero.loop.flushPhase(1, 0, false);
  zero.loop.publishPhase(1);
  assert.equal(zero.quorum.calls.length, 0);
  assert.deepEqual(zero.published, [100]);
  const some = await setup(20);
  await some.loop.flushNow();
  assert.equal(some.quorum.calls.length, 0, "a flush off the tick grid is not a tick's flush");
  assert.equal(some.published.length, 1);
});

test("a quorum that answers at once, over a store that flushes and reads asynchronously: the read in flight is waited for", async () => {
  const shows = new ShowRegistry(new MemoryShowSource());
  await shows.put("s", { title: "S", acts: [{ id: "a", name: "A" }] });
  await shows.setStage("s", { act: "a", open: true });
  const counting = new Counting(shows, new UnlimitedPolicy());
  const mem = new MemoryStore();
  const reads: Array<() => void> = [];
  let flushes = 0;
  const store = Object.assign(Object.create(mem) as MemoryStore, {
    flushSync: undefined,
    flush: async (batch: Parameters<MemoryStore["flush"]>[0]) => (flushes++, mem.flushSync(batch)),
    // Held until the test releases it: phase 2's read is in flight meanwhile.
    readTotals: (wants: Parameters<MemoryStore["readTotals"]>[0]) =>
      new Promise<ReturnType<MemoryStore["readTotals"]>>((resolve) => reads.push(() => resolve(mem.readTotals(wants)))),
  });
  const published: number[] = [];
  const loop = new TickLoop(
    counting,
    store,
    { takeAcks: () => () => {}, localWatching: () => 0, totals: (_s, _f, at) => (published.push(at.ts), 1) },
    new Metrics(),
    silentLogger,
    { tickMs: 100, publishOffsetMs: 20, quorum: { landed: () => Promise.resolve(true) }, budgetPct: 50 },
  );
  loop.flushPhase(3, 0, false);
  while (reads.length === 0) await turn();
  assert.deepEqual(loop.phase2Starts, { quorum: 1, offset: 0 }, "phase 2 started on the quorum");
  let settled = false;
  const now = loop.flushNow().then(() => (settled = true));
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(settled, false, "a flush-now waits for the read in flight");
  assert.equal(flushes, 1, "one tick in flight at a time: no flush while tick 3's read is in flight");
  reads.shift()!();
  while (reads.length === 0) await turn();
  reads.shift()!();
  await now;
  assert.equal(published.length, 2);
  assert.equal(published[0], 300, "tick 3 published first, then the flush-now's");
});
