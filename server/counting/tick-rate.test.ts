import { test } from "node:test";
import assert from "node:assert/strict";
import { RECENT, SATURATED, TickRate } from "./tick-rate.ts";

interface Load {
  /** CPU ms of each tick's flush phase. */
  flushMs: number;
  /** CPU ms of a publish's fan-out (reported after the publish, as fanout-cost.ts does). */
  publishMs: number;
  /** CPU ms per tick of the thread's other work (buzzes, HTTP). */
  otherMs: number;
  /** Whether the thread's CPU time is known (Linux); else the caller passes nothing. */
  busyKnown?: boolean;
}

/**
 * A thread running `ticks` aligned ticks from `from` under `load`, as tick-loop.ts drives the pacer:
 * flush, decide, publish (1 ms inside the callback), the fan-out's cost after it. Returns the ticks
 * that published.
 */
let cpu = 0;

function drive(rate: TickRate, from: number, ticks: number, load: Load): number[] {
  const published: number[] = [];
  let busy = 0;
  let since = from;
  let fanout = 0;
  for (let k = from; k < from + ticks; k++) {
    rate.flushed(load.flushMs);
    busy += load.flushMs + load.otherMs;
    cpu += load.flushMs + load.otherMs;
    if (fanout > 0) {
      rate.worked(fanout); // the previous publish's deliveries, measured after it
      busy += fanout;
      cpu += fanout;
      fanout = 0;
    }
    if (!rate.decide(k, load.busyKnown === false ? undefined : cpu)) continue;
    published.push(k);
    busy += 1;
    cpu += 1;
    const elapsed = (k + 1 - since) * 100;
    if (load.busyKnown === false) rate.published(1);
    else rate.published(1, busy, elapsed);
    busy = 0;
    since = k + 1;
    fanout = load.publishMs;
  }
  return published;
}

test("a publish dearer than a tick is paid for by the ticks after it: the rate is the allowance over its cost, not a power of two under it", () => {
  // The quiet-box case: a 150 ms fan-out (15,000 subscribers), 2 ms flushes, 5% other work. The
  // halving control settled at every 4th tick here (50 of 200): every 2nd needs 77% of the thread
  // in tick work, which with the other work crossed its 90% line and brought back the 50% budget.
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  const ticks = drive(rate, 0, 200, { flushMs: 2, publishMs: 150, otherMs: 5 });
  // The thread may be kept 95% busy: 95 ms per 100 ms tick, 7 go to the flush and other work: 88 / 151 ms per publish.
  const expected = (200 * 88) / 151;
  assert.ok(Math.abs(ticks.length - expected) <= 3, `${ticks.length} publishes in 200 ticks, expected ~${expected.toFixed(0)}`);
  assert.ok(Math.abs(rate.lastAllowance - (SATURATED - 0.05)) < 0.01, `allowance ${rate.lastAllowance}`);
  const gaps = new Set(ticks.slice(1).map((k, i) => k - ticks[i]!));
  assert.deepEqual([...gaps].sort(), [1, 2], "publishes on consecutive ticks or one apart: 5.8 per second, not 2.5 or 5");
  assert.ok(Math.abs(rate.publishPeriodMs - 100 * (200 / expected)) <= 25, `announced period ${rate.publishPeriodMs} ms`);
});

test("work that fits the allowance publishes on every tick, and the announced period is exactly TICK_MS", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  const ticks = drive(rate, 0, 100, { flushMs: 2, publishMs: 70, otherMs: 5 });
  assert.equal(ticks.length, 100);
  assert.equal(rate.publishPeriodMs, 100);
  assert.equal(rate.changes, 0);
});

test("other work keeps its share: the publishes get what it leaves, but never less than the budget", () => {
  const some = new TickRate({ tickMs: 100, budgetPct: 50 });
  const withSome = drive(some, 0, 200, { flushMs: 2, publishMs: 130, otherMs: 30 });
  assert.ok(Math.abs(some.lastAllowance - (SATURATED - 0.3)) < 0.02, `95% - 30% other: ${some.lastAllowance}`);
  assert.ok(Math.abs(withSome.length - (200 * 63) / 131) <= 3, `${withSome.length} publishes beside 30% other work`);
  const busy = new TickRate({ tickMs: 100, budgetPct: 50 });
  const withLots = drive(busy, 0, 200, { flushMs: 2, publishMs: 130, otherMs: 70 });
  assert.equal(busy.lastAllowance, 0.5, "70% other work: the tick keeps its 50% budget");
  assert.ok(Math.abs(withLots.length - (200 * 48) / 131) <= 3, `${withLots.length} publishes at the budget`);
  assert.ok(withSome.length > withLots.length);
  const idle = new TickRate({ tickMs: 100, budgetPct: 50 });
  assert.ok(drive(idle, 0, 200, { flushMs: 2, publishMs: 130, otherMs: 0 }).length > withSome.length);
});

test("without the thread's CPU time (a wall clock) the allowance is the budget; TICK_IDLE_PCT at the budget means the budget alone", () => {
  const wall = new TickRate({ tickMs: 100, budgetPct: 50 });
  const a = drive(wall, 0, 200, { flushMs: 2, publishMs: 130, otherMs: 0, busyKnown: false });
  assert.equal(wall.lastAllowance, 0.5);
  const budgetOnly = new TickRate({ tickMs: 100, budgetPct: 50, idlePct: 50 });
  const b = drive(budgetOnly, 0, 200, { flushMs: 2, publishMs: 130, otherMs: 0 });
  assert.equal(budgetOnly.lastAllowance, 0.5);
  for (const n of [a.length, b.length]) assert.ok(Math.abs(n - (200 * 48) / 131) <= 3, `${n} publishes`);
});

test("the gap between publishes never exceeds maxPublishPeriodMs, however dear a publish", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  assert.equal(rate.maxGap, 10);
  const ticks = drive(rate, 0, 300, { flushMs: 2, publishMs: 5000, otherMs: 0 });
  const gaps = ticks.slice(1).map((k, i) => k - ticks[i]!);
  assert.ok(gaps.length >= 29 && gaps.every((g) => g <= 10), `gaps ${gaps.join(",")}`);
  assert.equal(rate.publishPeriodMs, 1000);
  const long = new TickRate({ tickMs: 2000, budgetPct: 50 });
  assert.equal(long.maxGap, 1, "the longest period is one tick when the tick is long");
  assert.equal(drive(long, 0, 10, { flushMs: 1, publishMs: 5000, otherMs: 0 }).length, 10);
});

test("back to every tick as soon as the work fits again; the announced period returns to TICK_MS within RECENT publishes", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  drive(rate, 0, 50, { flushMs: 2, publishMs: 150, otherMs: 0 });
  assert.ok(rate.publishPeriodMs > 100);
  assert.equal(rate.changes, 1, "paced once");
  const after = drive(rate, 50, 3 * RECENT, { flushMs: 2, publishMs: 10, otherMs: 0 });
  // At most one more tick skipped while the last dear publish's debt is paid, then every tick.
  assert.ok(after.length >= 3 * RECENT - 2, `${after.length} of ${3 * RECENT}`);
  const tail = after.slice(-RECENT);
  assert.equal(tail[RECENT - 1]! - tail[0]!, RECENT - 1, "the last RECENT ticks all published");
  assert.equal(rate.publishPeriodMs, 100);
  assert.equal(rate.changes, 2, "paced, then back");
});

test("credit is banked for one tick at most: an idle spell does not pay for a burst of dear publishes", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  drive(rate, 0, 100, { flushMs: 0, publishMs: 0, otherMs: 0 }); // idle: a second of credit would be 90 ticks' worth
  const ticks = drive(rate, 100, 20, { flushMs: 2, publishMs: 300, otherMs: 0 });
  assert.ok(ticks.length <= 8, `${ticks.length} dear publishes in 20 ticks`);
});

test("ticks missed while the thread waited for a core accrue credit: the wait is not work", () => {
  // 95 ms of CPU per publish (a 10k fan-out), but the thread ran only 3 of every 10 ticks (the
  // others missed, not replayed): one flush per 333 ms of wall time; every tick that runs publishes.
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  let published = 0;
  let ran = 0;
  for (let k = 0; k < 600; k += k % 10 === 6 ? 4 : 3) {
    ran++;
    rate.flushed(1);
    rate.worked(95);
    if (rate.decide(k)) {
      published++;
      rate.published(0, 100, 333);
    }
  }
  assert.ok(published >= ran - 1, `${published} of ${ran}: at most the first gap pays off the first publish`);
  assert.ok(Math.abs(rate.lastRatio - 96 / 333) < 1e-9, "work over the wall time the period lasted");
});

test("a catch-up publish right after the previous one joins its period: the other-work share is not read off a near-empty window", () => {
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  for (let k = 0; k < 8; k += 2) {
    rate.flushed(1);
    rate.decide(k);
    rate.published(150, 151, 200);
    assert.equal(rate.open, false);
    rate.flushed(0);
    rate.decide(k + 1);
    rate.published(0, 0, 0.5);
    assert.equal(rate.open, true, "under half a tick: the period goes on");
  }
  assert.ok(rate.lastRatio > 0.7, "the ratio shown is the period's, not the catch-up's 0");
});
