import assert from "node:assert/strict";
import { test } from "node:test";
import { CountTween, type FrameScheduler } from "./count-tween.ts";

function frames(): FrameScheduler & { run(now: number): void; pending(): number } {
  let queue: Array<(now: number) => void> = [];
  return {
    request: (fn) => queue.push(fn),
    run(now) {
      const q = queue;
      queue = [];
      for (const fn of q) fn(now);
    },
    pending: () => queue.length,
  };
}

test("climbs monotonically to exactly the target within the duration", () => {
  const f = frames();
  const seen: number[] = [];
  const tw = new CountTween((n) => seen.push(n), f, 600);
  tw.set(1000, 0);
  for (let t = 16; t <= 640; t += 16) f.run(t);
  assert.equal(tw.shown, 1000);
  assert.equal(seen.at(-1), 1000);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, "never repeats or goes down");
  assert.equal(f.pending(), 0, "stops requesting frames once landed");
});

test("a new target mid-flight continues from what is shown; a lower one (reset) is shown at once", () => {
  const f = frames();
  const seen: number[] = [];
  const tw = new CountTween((n) => seen.push(n), f, 600);
  tw.set(100, 0);
  f.run(100);
  const mid = tw.shown;
  assert.ok(mid > 0 && mid < 100);
  tw.set(200, 100);
  for (let t = 116; t <= 800; t += 16) f.run(t);
  assert.equal(tw.shown, 200);
  tw.set(0, 900);
  assert.equal(tw.shown, 0);
  assert.equal(seen.at(-1), 0);
});

test("small steps still move at least one per frame", () => {
  const f = frames();
  const tw = new CountTween(() => {}, f, 10_000);
  tw.set(3, 0);
  f.run(1);
  f.run(2);
  f.run(3);
  assert.equal(tw.shown, 3);
});
