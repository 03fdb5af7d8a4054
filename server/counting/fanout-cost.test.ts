import { test } from "node:test";
import assert from "node:assert/strict";
import { FanoutCost } from "./fanout-cost.ts";

test("two publishes before the measurement share its window: the cost is per delivery of both", () => {
  let cpu = 0;
  let measure: (() => void) | null = null;
  const costs: number[] = [];
  const cost = new FanoutCost(
    () => 0, // no message arrived: a clean sample
    (ms) => costs.push(ms),
    () => cpu,
    (fn) => (measure = fn),
  );
  // A late thread runs two ticks' publishes in one turn: 1,000 subscribers each, 16 ms to send both.
  cost.published(1000);
  cost.published(1000);
  cpu += 16;
  measure!();
  assert.deepEqual(costs, [16], "one measurement, all of the window's cost");
  assert.equal(cost.perDeliveryMs, 0.008, "16 ms over 2,000 deliveries, not over the first 1,000");
});
