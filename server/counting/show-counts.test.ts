import { test } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "../ops/metrics.ts";
import { MemoryShowSource } from "../shows/show-source.ts";
import { ShowRegistry } from "../shows/show-registry.ts";
import { BuzzIntake, type Buzzer } from "./buzz-intake.ts";
import { OncePolicy } from "./buzz-policy.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { Counting } from "./show-counts.ts";

async function setup() {
  const shows = new ShowRegistry(new MemoryShowSource());
  const policy = new OncePolicy();
  const counting = new Counting(shows, policy);
  const limiter = new RateLimiter(0, 1, 1);
  const intake = new BuzzIntake(policy, limiter, new Metrics());
  const show = await shows.put("s", {
    title: "S",
    acts: [
      { id: "a", name: "A" },
      { id: "b", name: "B" },
    ],
  });
  await shows.setStage("s", { act: "a", open: true });
  const buzzer = (viewerKey: string): Buzzer => ({
    viewerKey,
    lastSeq: -1,
    counted: 0,
    rejected: {},
    last: "counted",
    undecided: 0,
    bucket: limiter.fresh(0),
  });
  return { shows, policy, counting, intake, show, buzzer };
}

test("1,000 resets: the once policy's memory and the retired tallies stay bounded by the live epoch", async () => {
  const { shows, policy, counting, intake, show, buzzer } = await setup();
  const counts = counting.of(show);
  let drained = 0;
  for (let i = 0; i < 1000; i++) {
    for (const v of ["v1", "v2", "v3"]) {
      const b = buzzer(v);
      assert.equal(intake.buzz(b, counts, counts.table.get("a"), 1, 0), "counted");
    }
    assert.equal(policy.remembered, 3, `after reset ${i}, only the live epoch's viewers are remembered`);
    await shows.reset("s");
    // The tick drains each retired tally once more, then drops it.
    const retired = counting.takeRetired();
    assert.equal(retired.length, 1);
    for (const t of retired) for (const d of t.drain()) drained += d.delta;
  }
  assert.equal(drained, 3000, "every buzz of every retired epoch was drained once");
  assert.equal(policy.remembered, 0);
  assert.equal(counting.takeRetired().length, 0);
  assert.equal([...counting.all()].length, 1);
});

test("a definition edit keeps undrained deltas; a reset moves new buzzes to a new tally", async () => {
  const { shows, counting, intake, show, buzzer } = await setup();
  const counts = counting.of(show);
  intake.buzz(buzzer("v1"), counts, counts.table.get("a"), 1, 0);
  intake.buzz(buzzer("v2"), counts, counts.table.get("a"), 1, 0);
  await shows.put("s", {
    title: "S2",
    acts: [
      { id: "a", name: "A" },
      { id: "c", name: "C" },
    ],
  });
  assert.equal(counts.table.get("b"), null, "removed act: unknown from now on");
  assert.notEqual(counts.table.get("c"), null);
  intake.buzz(buzzer("v3"), counts, counts.table.get("a"), 1, 0);
  assert.deepEqual(counts.tally.drain(), [{ act: "a", delta: 3 }]);
  const epoch = show.epoch;
  intake.buzz(buzzer("v4"), counts, counts.table.get("a"), 1, 0);
  await shows.reset("s");
  assert.notEqual(show.epoch, epoch);
  intake.buzz(buzzer("v4"), counts, counts.table.get("a"), 1, 0);
  const [old] = counting.takeRetired();
  assert.deepEqual([old?.epoch, old?.drain()], [epoch, [{ act: "a", delta: 1 }]]);
  assert.deepEqual(
    [counts.tally.epoch, counts.tally.drain()],
    [show.epoch, [{ act: "a", delta: 1 }]],
    "the same viewer counts again in the new epoch",
  );
});

test("ack.last is the outcome of the highest seq: a replayed seq is counted in rejected only", async () => {
  const { counting, intake, show, buzzer } = await setup();
  const counts = counting.of(show);
  const b = buzzer("v1");
  assert.equal(intake.buzz(b, counts, counts.table.get("a"), 1, 0), "counted");
  assert.equal(intake.buzz(b, counts, counts.table.get("b"), 2, 0), "voting_closed");
  assert.equal(intake.buzz(b, counts, null, 3, 0), "unknown_act");
  assert.equal(intake.buzz(b, counts, counts.table.get("a"), 2, 0), "out_of_order");
  assert.deepEqual(
    [b.lastSeq, b.last, b.counted, b.rejected],
    [3, "unknown_act", 1, { voting_closed: 1, unknown_act: 1, out_of_order: 1 }],
  );
  assert.equal(intake.buzz(b, counts, counts.table.get("a"), 4, 0), "duplicate");
  assert.equal(b.last, "duplicate");
});
