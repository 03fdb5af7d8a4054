import { test } from "node:test";
import assert from "node:assert/strict";
import { SATURATED, TickRate } from "./tick-rate.ts";

/** Runs `ticks` aligned ticks with `workMs` of work each (split between flush and publish). */
function run(rate: TickRate, from: number, ticks: number, workMs: number): number[] {
  const periods: number[] = [];
  for (let k = from; k < from + ticks; k++) {
    rate.flushed(workMs / 2);
    if (rate.publishes(k)) {
      rate.published(workMs / 2);
      periods.push(rate.periodMs);
    } else rate.worked(workMs / 2);
  }
  return periods;
}

test("over budget: the period doubles (after two periods over), on aligned multiples, up to 1 s", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  assert.equal(rate.maxFactor, 8);
  run(rate, 0, 2, 80);
  assert.equal(rate.factor, 2, "80% of each 100 ms tick: publish every 200 ms");
  assert.ok(!rate.publishes(3) && rate.publishes(4), "publishing ticks are multiples of the factor");
  run(rate, 2, 200, 80);
  assert.equal(rate.factor, 8, "flush work alone keeps it over budget: capped at 1 s");
  assert.equal(rate.periodMs, 800);
});

test("a heavy publish is amortized: the factor settles where the work fits the budget", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  // 140 ms per publish, 2 ms per flush: ratio 1.42 at x1, 0.71 at x2, 0.36 at x4.
  for (let k = 0; k < 100; k++) {
    rate.flushed(2);
    if (rate.publishes(k)) rate.published(140);
  }
  assert.equal(rate.factor, 4);
});

test("recovery with hysteresis: back one halving at a time after 1 s under 40% of the budget", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  run(rate, 0, 20, 90);
  assert.equal(rate.factor, 8);
  run(rate, 20, 40, 25); // 25%: under budget but not under 40% of it: stays
  assert.equal(rate.factor, 8);
  const periods = run(rate, 60, 60, 1);
  assert.deepEqual([...new Set(periods)], [800, 400, 200, 100], "halved step by step");
  assert.equal(rate.factor, 1);
  assert.equal(rate.changes, 6);
});

test("the longest period is one tick when the tick is long", () => {
  const rate = new TickRate({ tickMs: 2000, budgetPct: 50 });
  run(rate, 0, 10, 1900);
  assert.equal(rate.factor, 1);
});

/** Like the amortized test: `publishMs` per publish, 2 ms per flush, `otherPct` of each tick spent on other work. */
function heavyPublish(rate: TickRate, ticks: number, publishMs: number, otherPct: number): void {
  let busy = 0;
  for (let k = 0; k < ticks; k++) {
    rate.flushed(2);
    busy += 2 + otherPct;
    if (rate.publishes(k)) {
      busy += publishMs;
      rate.published(publishMs, busy);
      busy = 0;
    }
  }
}

test("a thread with nothing else to do lets the tick take up to SATURATED of it: a 130 ms publish settles at x2, not x4", () => {
  const idle = new TickRate({ tickMs: 100, budgetPct: 50 });
  heavyPublish(idle, 200, 130, 3); // x2: 66% tick work, 69% busy
  assert.equal(idle.factor, 2);
  assert.equal(idle.lastAllowance, SATURATED);
  const noBusy = new TickRate({ tickMs: 100, budgetPct: 50 });
  for (let k = 0; k < 200; k++) {
    noBusy.flushed(2);
    if (noBusy.publishes(k)) noBusy.published(130); // busy time unknown (wall clock): the budget
  }
  assert.equal(noBusy.factor, 4);
  const budgetOnly = new TickRate({ tickMs: 100, budgetPct: 50, idlePct: 50 }); // TICK_IDLE_PCT=TICK_BUDGET_PCT
  heavyPublish(budgetOnly, 200, 130, 3);
  assert.equal(budgetOnly.factor, 4);
});

test("other work that keeps the thread busy holds the tick to its budget", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  heavyPublish(rate, 200, 130, 30); // x2: 66% tick + 30% other = 96% busy: over the budget
  assert.equal(rate.factor, 4, "x4: 33% tick work; x2 again would not fit beside the other work");
  heavyPublish(rate, 200, 130, 3); // the other work stops: back to x2 once x2 fits
  assert.equal(rate.factor, 2);
});

test("ticks missed while the thread waited for a core do not shrink the period: the wait is not work", () => {
  // 95 ms of CPU per publish (a 10k fan-out), but the thread got a core for only 3 of every 10
  // ticks (the others were missed, not replayed): one flush per 333 ms of wall time.
  const wallAware = new TickRate({ tickMs: 100, budgetPct: 50 });
  const tickCounted = new TickRate({ tickMs: 100, budgetPct: 50 });
  for (let k = 0; k < 60; k++) {
    for (const r of [wallAware, tickCounted]) r.flushed(1);
    wallAware.published(95, 100, 333);
    tickCounted.published(95, 100); // 96% of one tick: taken for work that does not fit
  }
  assert.equal(wallAware.factor, 1, "29% of the wall period: fits");
  assert.ok(Math.abs(wallAware.lastRatio - 96 / 333) < 1e-9, "work over the wall time the period lasted");
  assert.equal(tickCounted.factor, 8, "counted per tick, the same load degrades to the cap");
});

test("a catch-up publish right after the previous one joins its period: a thread late at every publish is slowed", () => {
  // 190 ms of CPU per publish over 200 ms of wall time (over any allowance), and each late turn
  // also runs the next tick's publish at once (0.5 ms after, nothing to send).
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  for (let k = 0; k < 4; k++) {
    rate.flushed(1);
    rate.published(190, 191, 200);
    assert.equal(rate.open, false);
    rate.flushed(0);
    rate.published(0, 0, 0.5);
    assert.equal(rate.open, true, "under half a tick: the period goes on");
  }
  assert.ok(rate.factor > 1, "two periods over in a row: slowed");
  assert.ok(rate.lastRatio > 0.9, "the ratio shown is the period's, not the catch-up's 0");
});
