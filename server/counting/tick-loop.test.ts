/**
 * Acks and the store: an ack leaves only once the flush that carries its buzzes resolved, so a unit
 * that dies while its flush waits (a worker asking the supervisor for a counter slot, a backend
 * round trip) has acknowledged none of that flush's buzzes. Driven by hand: the fake store's flush
 * resolves when the test says so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger } from "../ops/logger.ts";
import { Metrics } from "../ops/metrics.ts";
import { MemoryShowSource } from "../shows/show-source.ts";
import { ShowRegistry } from "../shows/show-registry.ts";
import type { FlushResult, ShowFlush, Store } from "../store/store.ts";
import { BuzzIntake } from "./buzz-intake.ts";
import { UnlimitedPolicy } from "./buzz-policy.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { Counting } from "./show-counts.ts";
import { TickLoop } from "./tick-loop.ts";

function heldStore() {
  const flushes: Array<{ batch: readonly ShowFlush[]; settle(ok: boolean): void }> = [];
  const store = {
    flush: (batch: readonly ShowFlush[]) =>
      new Promise<FlushResult>((resolve, reject) =>
        flushes.push({ batch, settle: (ok) => (ok ? resolve(new Map()) : reject(new Error("down"))) }),
      ),
    durableTotals: async () => null,
    health: () => ({ ready: true, checks: {} }),
    stats: () => ({ entries: 0, lastFlushEntries: 0, retainedBuzzes: 0 }),
    close: async () => {},
  } as unknown as Store;
  return { store, flushes };
}

const flush = () => new Promise((r) => setImmediate(r));

test("acks wait for the flush that carries their buzzes; a failed flush queues them again", async () => {
  const shows = new ShowRegistry(new MemoryShowSource());
  const show = await shows.put("s", { title: "S", acts: [{ id: "a", name: "A" }] });
  await shows.setStage("s", { act: "a", open: true });
  const counting = new Counting(shows, new UnlimitedPolicy());
  const { store, flushes } = heldStore();
  const events: string[] = [];
  let queued = true; // one connection with a pending ack
  const loop = new TickLoop(
    counting,
    store,
    {
      takeAcks: () => {
        if (!queued) return () => {};
        queued = false;
        events.push("taken");
        return (stored) => {
          events.push(stored ? "sent" : "requeued");
          if (!stored) queued = true;
        };
      },
      localWatching: () => 0,
      totals: () => 0,
    },
    new Metrics(),
    silentLogger,
    { tickMs: 100, publishOffsetMs: 0, budgetPct: 50 },
  );
  const limiter = new RateLimiter(0, 1, 1);
  const counts = counting.of(show);
  const buzzer = {
    viewerKey: "v",
    lastSeq: -1,
    counted: 0,
    rejected: {},
    last: "counted" as const,
    undecided: 0,
    bucket: limiter.fresh(0),
  };
  assert.equal(new BuzzIntake(new UnlimitedPolicy(), limiter, new Metrics()).buzz(buzzer, counts, counts.table.get("a"), 1, 0), "counted");
  loop.flushPhase(1, 0, false);
  assert.equal(flushes.length, 1, "the tick handed its buzzes to the store");
  assert.deepEqual(
    flushes[0]!.batch.flatMap((f) => f.deltas),
    [{ act: "a", delta: 1 }],
  );
  assert.deepEqual(events, ["taken"], "no ack while the flush is in flight");
  flushes[0]!.settle(false);
  await flush();
  assert.deepEqual(events, ["taken", "requeued"], "a failed flush sends nothing");
  loop.publishPhase(1);
  loop.flushPhase(2, 0, false);
  assert.equal(flushes.length, 2);
  assert.deepEqual(events, ["taken", "requeued", "taken"]);
  flushes[1]!.settle(true);
  await flush();
  assert.deepEqual(events, ["taken", "requeued", "taken", "sent"], "sent once the store holds the buzzes");
});
