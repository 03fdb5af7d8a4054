import { test } from "node:test";
import assert from "node:assert/strict";
import { TopicStreams } from "./topic-streams.ts";

test("TopicStreams counts the bytes of each published frame, per topic, and forwards it", () => {
  const seen: Array<[string, boolean]> = [];
  const s = new TopicStreams({ publish: (t, _f, b) => seen.push([t, b]), subscribers: () => 7 });
  s.publish("a", "é", false);
  s.publish("b", new Uint8Array(5), true);
  s.publish("a", "xy", false);
  assert.equal(s.of("a").bytes, 4);
  assert.equal(s.of("b").bytes, 5);
  assert.deepEqual(seen, [
    ["a", false],
    ["b", true],
    ["a", false],
  ]);
  assert.equal(s.subscribers("a"), 7);
});
