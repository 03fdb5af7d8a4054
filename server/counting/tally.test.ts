import { test } from "node:test";
import assert from "node:assert/strict";
import { Tally } from "./tally.ts";

test("drain hands each buzz out exactly once, sorted by act", () => {
  const t = new Tally("demo", "e1");
  const b = t.slot("b");
  const a = t.slot("a");
  for (let i = 0; i < 5; i++) t.count(b);
  t.count(a, 2);
  assert.equal(t.dirty(), true);
  assert.deepEqual(t.drain(), [{ act: "a", delta: 2 }, { act: "b", delta: 5 }]);
  assert.equal(t.dirty(), false);
  assert.deepEqual(t.drain(), []);
  t.count(a);
  assert.deepEqual(t.drain(), [{ act: "a", delta: 1 }]);
  assert.equal(t.slot("a"), a, "slots are stable");
});
