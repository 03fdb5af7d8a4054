import { test } from "node:test";
import assert from "node:assert/strict";
import { Tally } from "./tally.ts";

test("drain hands each buzz out exactly once, sorted by act", () => {
  const t = new Tally("demo", "e1");
  const b = t.slot("b");
  const a = t.slot("a");
  for (let i = 0; i < 5; i++) b.pending++;
  a.pending += 2;
  assert.deepEqual(t.drain(), [
    { act: "a", delta: 2 },
    { act: "b", delta: 5 },
  ]);
  assert.deepEqual(t.drain(), []);
  a.pending++;
  assert.deepEqual(t.drain(), [{ act: "a", delta: 1 }]);
  assert.equal(t.slot("a"), a, "slots are stable");
});
