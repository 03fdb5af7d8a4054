import assert from "node:assert/strict";
import { test } from "node:test";
import { audienceText, watchingOf } from "./watching.ts";

test("the audience line uses thousands separators and hides watching when the server sends none", () => {
  assert.equal(audienceText(1234, 56789), "1,234 buzzes · 56,789 watching");
  assert.equal(audienceText(1, 0), "1 buzz · 0 watching");
  assert.equal(audienceText(1_234_567, null), "1,234,567 buzzes");
});

test("watching is read only when it is a count", () => {
  assert.equal(watchingOf({ watching: 12 }), 12);
  assert.equal(watchingOf({ watching: 0 }), 0);
  assert.equal(watchingOf({}), null);
  assert.equal(watchingOf(null), null);
  assert.equal(watchingOf({ watching: "12" }), null);
  assert.equal(watchingOf({ watching: -1 }), null);
  assert.equal(watchingOf({ watching: 1.5 }), null);
});
