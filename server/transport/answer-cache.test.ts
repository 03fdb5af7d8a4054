import { test } from "node:test";
import assert from "node:assert/strict";
import { AnswerCache } from "./answer-cache.ts";

test("one load per key per ttl, shared in flight; a failure is not kept", async () => {
  const c = new AnswerCache<number>(1000, 2);
  let loads = 0;
  const load = () => Promise.resolve(++loads);
  const [a, b] = await Promise.all([c.get("k", load, 0), c.get("k", load, 10)]);
  assert.deepEqual([a, b, loads], [1, 1, 1]);
  assert.equal(await c.get("k", load, 999), 1);
  assert.equal(await c.get("k", load, 1000), 2, "expired after ttl");
  await assert.rejects(c.get("x", () => Promise.reject(new Error("down")), 1000));
  assert.equal(await c.get("x", load, 1001), 3, "a failed load is retried by the next caller");
  await c.get("y", load, 1002);
  assert.equal(await c.get("k", load, 1003), 5, "the oldest key was dropped at maxEntries");
});
