import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FanoutCost } from "./fanout-cost.ts";
import { TickRate } from "./tick-rate.ts";
import { parseSchedstatMs, workClock } from "./work-clock.ts";

test("schedstat's first field is the thread's on-CPU time (ns -> ms); anything else is unreadable", () => {
  assert.equal(parseSchedstatMs("123456789 5550000 7\n"), 123.456789);
  assert.ok(Number.isNaN(parseSchedstatMs("")));
  assert.ok(Number.isNaN(parseSchedstatMs("abc 1 2")));
});

test("the work clock reads schedstat where it can, else falls back to wall time", () => {
  const dir = mkdtempSync(join(tmpdir(), "work-clock-"));
  const path = join(dir, "schedstat");
  writeFileSync(path, "2000000 9 1\n");
  const cpu = workClock(path);
  assert.equal(cpu.kind, "thread-cpu");
  assert.equal(cpu.clock(), 2);
  writeFileSync(path, "3500000 9 2\n");
  assert.equal(cpu.clock(), 3.5, "read afresh at each call");
  assert.equal(workClock(join(dir, "missing")).kind, "wall");
  if (process.platform === "linux") assert.equal(workClock().kind, "thread-cpu", "Linux has /proc/thread-self/schedstat");
});

/**
 * Two clocks driven by hand: `wall` runs while the thread waits for a core held by another
 * process, `cpu` only while it works. The overload control is fed what the work clock says.
 */
function fakeClocks() {
  const c = { wall: 0, cpu: 0 };
  return { c, cpu: () => c.cpu, wall: () => c.wall };
}

test("a fan-out that waits for a core is not taken for work: the rate holds; real CPU work still degrades it", () => {
  for (const measuredBy of ["cpu", "wall"] as const) {
    const { c, cpu, wall } = fakeClocks();
    const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
    let measure: (() => void) | null = null;
    const cost = new FanoutCost(
      () => 0,
      (ms) => rate.worked(ms),
      measuredBy === "cpu" ? cpu : wall,
      (fn) => (measure = fn),
    );
    for (let k = 0; k < 50; k++) {
      rate.flushed(1);
      if (!rate.decide(k)) continue;
      rate.published(1);
      cost.published(1000);
      // The deliveries take 8 ms of CPU, but the thread waited 70 ms for a core the generator held.
      c.cpu += 8;
      c.wall += 78;
      measure!();
    }
    if (measuredBy === "cpu") assert.equal(rate.publishPeriodMs, 100, "8% of the period in CPU: full rate");
    else assert.ok(rate.publishPeriodMs > 100, "the old wall-time measure degrades under the same load (what the change fixes)");
  }
  const { c, cpu } = fakeClocks();
  const rate = new TickRate({ tickMs: 100, budgetPct: 50 });
  let measure: (() => void) | null = null;
  const cost = new FanoutCost(
    () => 0,
    (ms) => rate.worked(ms),
    cpu,
    (fn) => (measure = fn),
  );
  for (let k = 0; k < 50; k++) {
    rate.flushed(1);
    if (!rate.decide(k)) continue;
    rate.published(1);
    cost.published(1000);
    c.cpu += 90; // the deliveries really take 90 ms of CPU per 100 ms period
    measure!();
  }
  assert.ok(rate.publishPeriodMs >= 150, `work that does not fit still slows the rate: ${rate.publishPeriodMs} ms`);
});

test("the schedstat file is opened once: reads need no free descriptor, and a failed read goes on in wall time", () => {
  const dir = mkdtempSync(join(tmpdir(), "work-clock-"));
  const path = join(dir, "schedstat");
  writeFileSync(path, "2000000 9 1\n");
  const h = workClock(path);
  rmSync(path); // the open descriptor still reads it: nothing is opened per read
  writeFileSync(join(dir, "other"), "x");
  assert.equal(h.clock(), 2);
  if (process.platform === "linux") {
    const open = readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 10; i++) h.clock();
    assert.equal(readdirSync("/proc/self/fd").length, open, "no descriptor per read");
  }
  assert.equal(h.failures, 0);

  const p2 = join(dir, "schedstat2");
  writeFileSync(p2, "5000000 9 1\n");
  const g = workClock(p2);
  assert.equal(g.clock(), 5);
  writeFileSync(p2, "not a schedstat line\n");
  const after = g.clock();
  assert.equal(after, 5, "a failed read continues from the last value");
  assert.equal(g.failures, 1);
  assert.ok(g.clock() >= after, "then wall time from there, never backwards");
});
