import assert from "node:assert/strict";
import { test } from "node:test";
import { RateSeries } from "./rate-series.ts";

test("deltas of the running total land in one-second buckets", () => {
  const r = new RateSeries(5);
  r.observe("e/a", 10, 1_000); // baseline: the first total is history, not a rate
  r.observe("e/a", 13, 1_100);
  r.observe("e/a", 15, 1_900);
  r.observe("e/a", 16, 2_050);
  const [xs, ys] = r.series(3_500);
  assert.deepEqual(xs, [-1, 0, 1, 2, 3]);
  assert.deepEqual(ys, [0, 0, 5, 1, 0]);
});

test("a new act or epoch restarts the series; nothing older than the window is kept", () => {
  const r = new RateSeries(3);
  r.observe("e/a", 0, 0);
  r.observe("e/a", 4, 500);
  r.observe("e2/a", 0, 600);
  assert.deepEqual(r.series(600)[1], [0, 0, 0]);
  r.observe("e2/a", 2, 1_000);
  r.observe("e2/a", 3, 9_000);
  assert.deepEqual(r.series(9_000), [
    [7, 8, 9],
    [0, 0, 1],
  ]);
  assert.equal(r.key, "e2/a");
});
