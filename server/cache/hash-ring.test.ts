import assert from "node:assert/strict";
import { test } from "node:test";
import { HashRing } from "./hash-ring.ts";

const keys = Array.from({ length: 3000 }, (_, i) => `show:demo:e1:act-${i}`);
const A = "10.0.0.1:11211";
const B = "10.0.0.2:11211";
const C = "10.0.0.3:11211";

test("placement depends on the set of servers, not their order", () => {
  const abc = new HashRing([A, B, C]);
  const cba = new HashRing([C, B, A]);
  for (const key of keys) assert.equal(abc.serverFor(key), cba.serverFor(key));
});

test("each of three servers gets a fair share of keys", () => {
  const ring = new HashRing([A, B, C]);
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(ring.serverFor(key), (counts.get(ring.serverFor(key)) ?? 0) + 1);
  assert.equal(counts.size, 3);
  for (const [server, n] of counts) assert.ok(n > 700 && n < 1300, `${server} got ${n} of 3000`);
});

test("removing a server moves only the keys it held", () => {
  const before = new HashRing([A, B, C]);
  const after = new HashRing([A, C]);
  let moved = 0;
  for (const key of keys) {
    const was = before.serverFor(key);
    if (was === B) moved++;
    else assert.equal(after.serverFor(key), was, `${key} moved off a surviving server`);
  }
  assert.ok(moved > 0);
});

test("adding a server takes keys only onto itself", () => {
  const before = new HashRing([A, B]);
  const after = new HashRing([A, B, C]);
  let taken = 0;
  for (const key of keys) {
    const now = after.serverFor(key);
    if (now === C) taken++;
    else assert.equal(now, before.serverFor(key));
  }
  assert.ok(taken > 700 && taken < 1300, `the new server took ${taken} of 3000`);
});

test("one server owns everything; empty and duplicate lists are rejected", () => {
  const one = new HashRing([A]);
  assert.equal(one.lookup("anything"), 0);
  assert.throws(() => new HashRing([]), RangeError);
  assert.throws(() => new HashRing([A, A]), RangeError);
});
