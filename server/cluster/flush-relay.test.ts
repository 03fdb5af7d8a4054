/** The supervisor's tally of worker flushes and the worker's side of it (logic only; real workers: test/early-publish.test.ts). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlushTally, ThreadFlushQuorum } from "./flush-relay.ts";

test("announces a tick once, after every live worker flushed it; a worker leaving completes it", () => {
  let live = [1, 2, 3];
  const announced: number[] = [];
  const tally = new FlushTally(
    () => live,
    (t) => announced.push(t),
  );
  tally.flushed(1, 10);
  tally.flushed(2, 10);
  assert.deepEqual(announced, []);
  tally.flushed(3, 10);
  tally.flushed(3, 10);
  assert.deepEqual(announced, [10], "once");
  tally.flushed(1, 11);
  tally.flushed(4, 11); // not ready yet: does not stand in for a live worker
  tally.flushed(2, 11);
  tally.flushed(3, 10); // late report of an older tick
  assert.deepEqual(announced, [10]);
  live = [1, 2];
  tally.check();
  assert.deepEqual(announced, [10, 11], "worker 3 left: tick 11 no longer waits for it");
  live = [];
  tally.flushed(1, 12);
  assert.deepEqual(announced, [10, 11], "no live worker: nothing announced");
});

test("a worker's wait resolves true on its tick's announcement, false once a later tick moved on", async () => {
  const posted: number[] = [];
  const q = new ThreadFlushQuorum((t) => posted.push(t));
  const five = q.landed(5);
  const six = q.landed(6);
  assert.deepEqual(posted, [5, 6]);
  assert.equal(await five, false, "tick 6 landed: tick 5 is given up");
  q.allFlushed(6);
  assert.equal(await six, true);
  const seven = q.landed(7);
  q.allFlushed(8);
  assert.equal(await seven, false);
});
