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
  let now = 0;
  const cache = new TimelineCache(
    () => counted++,
    () => now,
  );
  const [a, b] = await Promise.all([cache.get(source, "s", "e", "a1", 1000), cache.get(source, "s", "e", "a1", 1000)]);
  assert.deepEqual(a, b);
  assert.equal(queries, 1);
  now = 10;
  await cache.get(source, "s", "e", "a2", 1000);
  assert.equal(queries, 2, "another act is another key");
  now = TIMELINE_CACHE_MS;
  assert.deepEqual(await cache.get(source, "s", "e", "a1", 1000), [[0, 3]], "expired: asked again");
  fail = true;
  await assert.rejects(cache.get(source, "s", "e", "a3", 1000));
  await new Promise((r) => setImmediate(r));
  fail = false;
  now = TIMELINE_CACHE_MS + 1;
  assert.deepEqual(await cache.get(source, "s", "e", "a3", 1000), [[0, 5]], "a failure is retried at once");
  assert.equal(counted, queries);
});
