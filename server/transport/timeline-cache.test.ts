import { test } from "node:test";
import assert from "node:assert/strict";
import { TIMELINE_CACHE_MS, TimelineCache } from "./timeline-cache.ts";

test("timeline cache: one record query per key per TTL, shared by concurrent callers; failures are not cached", async () => {
  let queries = 0;
  let fail = false;
  const source = {
    timeline: (): Promise<Array<[number, number]>> => {
      queries++;
      return fail ? Promise.reject(new Error("down")) : Promise.resolve([[0, queries]]);
    },
  };
  let counted = 0;
  const cache = new TimelineCache(() => counted++);
  const [a, b] = await Promise.all([cache.get(source, "s", "e", "a1", 1000, 0), cache.get(source, "s", "e", "a1", 1000, 10)]);
  assert.deepEqual(a, b);
  assert.equal(queries, 1);
  await cache.get(source, "s", "e", "a2", 1000, 10);
  assert.equal(queries, 2, "another act is another key");
  assert.deepEqual(await cache.get(source, "s", "e", "a1", 1000, TIMELINE_CACHE_MS), [[0, 3]], "expired: asked again");
  fail = true;
  await assert.rejects(cache.get(source, "s", "e", "a3", 1000, 0));
  await new Promise((r) => setImmediate(r));
  fail = false;
  assert.deepEqual(await cache.get(source, "s", "e", "a3", 1000, 1), [[0, 5]], "a failure is retried at once");
  assert.equal(counted, queries);
});
