import assert from "node:assert/strict";
import { test } from "node:test";
import { TotalsView } from "./totals-view.ts";

test("stale and equal seq frames are dropped; newer ones apply", () => {
  const v = new TotalsView();
  assert.ok(v.applySnapshot("e1", 10, { a: 5 }));
  assert.equal(v.applyFrame("e1", 10, { a: 9 }), false, "same seq as the snapshot");
  assert.equal(v.applyFrame("e1", 9, { a: 9 }), false, "older seq");
  assert.equal(v.total("a"), 5);
  assert.ok(v.applyFrame("e1", 11, { a: 7, b: 1 }));
  assert.deepEqual(v.totals, { a: 7, b: 1 });
  assert.equal(v.seq, 11);
});

test("within an epoch no act's total goes down, even across a reconnect snapshot", () => {
  const v = new TotalsView();
  v.applySnapshot("e1", 50, { a: 10, b: 3 });
  // A new connection (another node, or a restarted server in the same epoch) has a lower seq and
  // a snapshot that lags what was shown.
  assert.ok(v.applySnapshot("e1", 2, { a: 8, b: 4 }));
  assert.deepEqual(v.totals, { a: 10, b: 4 });
  assert.ok(v.applyFrame("e1", 3, { a: 9, b: 4 }), "frames after the new snapshot apply");
  assert.equal(v.total("a"), 10);
  assert.ok(v.applyFrame("e1", 4, { a: 12 }));
  assert.equal(v.total("a"), 12);
});

test("a new epoch replaces the totals and retires the old epoch for good", () => {
  const v = new TotalsView();
  v.applySnapshot("e1", 5, { a: 10 });
  assert.ok(v.applyEpoch("e2"));
  assert.deepEqual(v.totals, {});
  assert.equal(v.applyFrame("e1", 99, { a: 11 }), false, "late frame of the reset epoch");
  assert.equal(v.applySnapshot("e1", 99, { a: 11 }), false);
  assert.ok(v.applyFrame("e2", 0, { a: 1 }), "first frame of the new epoch applies whatever its seq");
  assert.deepEqual(v.totals, { a: 1 });
  assert.equal(v.applyEpoch("e2"), false, "announcing the current epoch again changes nothing");
  assert.ok(v.applyFrame("e3", 1, { a: 0 }), "a frame of an unseen epoch starts it");
  assert.equal(v.total("a"), 0);
  assert.equal(v.epoch, "e3");
});

test("the totals getter returns a copy", () => {
  const v = new TotalsView();
  v.applySnapshot("e", 0, { a: 1 });
  const t = v.totals as Record<string, number>;
  t["a"] = 100;
  assert.equal(v.total("a"), 1);
});
