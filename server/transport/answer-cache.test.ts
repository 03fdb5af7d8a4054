import { test } from "node:test";
import assert from "node:assert/strict";
import { AnswerCache } from "./answer-cache.ts";

test("one load per key per ttl, shared in flight; a failure is not kept", async () => {
  let now = 0;
  const c = new AnswerCache<number>(1000, 2, () => now);
  let loads = 0;
  const load = () => Promise.resolve(++loads);
  const [a, b] = await Promise.all([c.get("k", load), c.get("k", load)]);
  assert.deepEqual([a, b, loads], [1, 1, 1]);
  now = 999;
  assert.equal(await c.get("k", load), 1);
  now = 1000;
  assert.equal(await c.get("k", load), 2, "expired after ttl");
  await assert.rejects(c.get("x", () => Promise.reject(new Error("down"))));
  now = 1001;
  assert.equal(await c.get("x", load), 3, "a failed load is retried by the next caller");
  await c.get("y", load);
  assert.equal(await c.get("k", load), 5, "the oldest key was dropped at maxEntries");
});

test("a slow load is kept for ttl after it arrives, not after it started", async () => {
  let now = 0;
  const c = new AnswerCache<number>(50, 16, () => now);
  let loads = 0;
  let finish: (() => void) | null = null;
  const slow = () =>
    new Promise<number>((r) => {
      finish = () => r(++loads);
    });
  const first = c.get("k", slow);
  now = 120; // the load takes 120 ms, over the ttl
  finish!();
  assert.equal(await first, 1);
  now = 160;
  assert.equal(await c.get("k", slow), 1, "fresh for 50 ms after it arrived, though started 160 ms ago");
  now = 170;
  const again = c.get("k", slow);
  finish!();
  assert.equal(await again, 2, "expired 50 ms after it arrived");
});
