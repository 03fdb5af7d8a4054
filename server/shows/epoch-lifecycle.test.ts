import { test } from "node:test";
import assert from "node:assert/strict";
import { EpochLifecycle, type EpochHolder } from "./epoch-lifecycle.ts";

/** A holder that keeps an epoch until `settle` is called for it. */
function holder(name: string, log: string[]) {
  const kept = new Set<string>();
  const h: EpochHolder & { keep(e: string): void; settle(e: string): void } = {
    retire: (show, epoch) => log.push(`${name}:${show}/${epoch}`),
    holds: (_show, epoch) => kept.has(epoch),
    keep: (e) => kept.add(e),
    settle: (e) => kept.delete(e),
  };
  return h;
}

test("retire tells every holder once, in registration order; isRetired lasts while something holds the epoch", () => {
  const log: string[] = [];
  const l = new EpochLifecycle();
  const a = l.register(holder("a", log));
  l.register(holder("b", log));
  a.keep("e1");
  l.retire("s", "e1");
  l.retire("s", "e1");
  assert.deepEqual(log, ["a:s/e1", "b:s/e1"], "told once, in order");
  assert.equal(l.isRetired("s", "e1"), true, "a still holds e1");
  l.sweep();
  assert.equal(l.isRetired("s", "e1"), true);
  a.settle("e1");
  l.sweep();
  assert.equal(l.isRetired("s", "e1"), false, "forgotten once nothing holds it");
  assert.equal(l.retiredHeld, 0);
  l.retire("s", "e2");
  assert.equal(l.retiredHeld, 0, "an epoch nobody holds is forgotten at once");
});

test("follow retires the show's previous epoch, never the current one; isCurrent follows", () => {
  const log: string[] = [];
  const l = new EpochLifecycle();
  l.register(holder("h", log));
  l.follow("s", "e1");
  l.follow("t", "x1");
  l.follow("s", "e1");
  assert.deepEqual(log, [], "a show's first epoch retires nothing");
  assert.equal(l.isCurrent("s", "e1"), true);
  l.follow("s", "e2");
  assert.deepEqual(log, ["h:s/e1"]);
  assert.equal(l.isCurrent("s", "e1"), false);
  assert.equal(l.isCurrent("s", "e2"), true);
  assert.equal(l.isCurrent("t", "x1"), true, "other shows untouched");
  for (let i = 3; i <= 1000; i++) l.follow("s", `e${i}`);
  assert.equal(log.length, 999, "one retirement per reset");
  assert.equal(l.retiredHeld, 0, "memory follows the live epochs");
});
