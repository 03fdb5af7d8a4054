import assert from "node:assert/strict";
import { test } from "node:test";
import { Announcer, type AnnouncerClock } from "./announcer.ts";

/** A virtual clock: timers fire only when the test advances time. */
function virtualClock(): AnnouncerClock & { advance(ms: number): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(h) {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
  };
}

test("speaks the first value at once, then at most once per interval, latest text winning", () => {
  const clock = virtualClock();
  const spoken: Array<[number, string]> = [];
  const a = new Announcer((t) => spoken.push([clock.now(), t]), 5000, clock);
  a.offer("Act 1: 1 buzz");
  assert.deepEqual(spoken, [[0, "Act 1: 1 buzz"]]);
  // ten updates a second for 12 s: one announcement per 5 s, each the latest value
  for (let i = 2; i <= 120; i++) {
    clock.advance(100);
    a.offer(`Act 1: ${i} buzzes`);
  }
  clock.advance(5000);
  assert.deepEqual(
    spoken.map(([at]) => at),
    [0, 5000, 10000, 15000],
  );
  assert.equal(spoken.at(-1)?.[1], "Act 1: 120 buzzes");
});

test("an unchanged summary is never repeated, and a change back to the spoken text cancels the pending one", () => {
  const clock = virtualClock();
  const spoken: string[] = [];
  const a = new Announcer((t) => spoken.push(t), 5000, clock);
  a.offer("x");
  a.offer("x");
  clock.advance(6000);
  a.offer("x");
  assert.deepEqual(spoken, ["x"]);
  a.offer("y"); // interval over: at once
  a.offer("z"); // pending
  a.offer("y"); // back to what was spoken: nothing to say
  clock.advance(10_000);
  assert.deepEqual(spoken, ["x", "y"]);
});

test("dispose cancels a pending announcement", () => {
  const clock = virtualClock();
  const spoken: string[] = [];
  const a = new Announcer((t) => spoken.push(t), 5000, clock);
  a.offer("a");
  a.offer("b");
  a.dispose();
  clock.advance(10_000);
  assert.deepEqual(spoken, ["a"]);
});
