import assert from "node:assert/strict";
import { test } from "node:test";
import { AckLedger } from "./ack-ledger.ts";

test("one buzz per ack: the outcome is `last`", () => {
  const l = new AckLedger<string>();
  assert.equal(l.sent("b1"), 1);
  assert.equal(l.sent("b2"), 2);
  let r = l.applyAck({ seq: 1, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(r, { resolved: [{ item: "b1", outcome: "counted" }], mismatch: null });
  assert.equal(l.inflightCount, 1);
  r = l.applyAck({ seq: 2, counted: 1, rejected: { duplicate: 1 }, last: "duplicate" });
  assert.deepEqual(r, { resolved: [{ item: "b2", outcome: "duplicate" }], mismatch: null });
});

test("a merged ack: outcomes add up to the deltas, counted first, `last` exact", () => {
  const l = new AckLedger<number>();
  for (let i = 1; i <= 5; i++) l.sent(i);
  const r = l.applyAck({ seq: 4, counted: 2, rejected: { duplicate: 1, voting_closed: 1 }, last: "voting_closed" });
  assert.equal(r.mismatch, null);
  assert.deepEqual(
    r.resolved.map((x) => x.outcome),
    ["counted", "counted", "duplicate", "voting_closed"],
  );
  assert.deepEqual(
    r.resolved.map((x) => x.item),
    [1, 2, 3, 4],
  );
  const r2 = l.applyAck({ seq: 5, counted: 3, rejected: { duplicate: 1, voting_closed: 1 }, last: "counted" });
  assert.deepEqual(r2.resolved, [{ item: 5, outcome: "counted" }]);
});

test("acks that do not add up are reported, and nothing is lost", () => {
  const l = new AckLedger<string>();
  l.sent("x");
  l.sent("y");
  const r = l.applyAck({ seq: 2, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(
    r.resolved.map((x) => x.outcome),
    ["unconfirmed", "counted"],
  );
  assert.match(r.mismatch ?? "", /seq 1/);
  const back = l.applyAck({ seq: 1, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(back.resolved, []);
  assert.match(back.mismatch ?? "", /went back/);
});

test("drain returns the unacknowledged buzzes in order and restarts seq at 1", () => {
  const l = new AckLedger<string>();
  l.sent("a");
  l.sent("b");
  l.sent("c");
  l.applyAck({ seq: 1, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(l.drain(), ["b", "c"]);
  assert.equal(l.inflightCount, 0);
  assert.equal(l.sent("d"), 1);
  const r = l.applyAck({ seq: 1, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(r, { resolved: [{ item: "d", outcome: "counted" }], mismatch: null }, "counters restart per connection");
});

test("reasons this client does not know settle as rejected_other; later acks stay exact and nothing is a mismatch", () => {
  const l = new AckLedger<string>();
  for (const b of ["b1", "b2", "b3", "b4", "b5"]) l.sent(b);
  let r = l.applyAck({ seq: 1, counted: 1, rejected: {}, last: "counted" });
  assert.deepEqual(r, { resolved: [{ item: "b1", outcome: "counted" }], mismatch: null });
  r = l.applyAck({ seq: 2, counted: 1, rejected: {}, rejectedOther: 1, last: "rejected_other" });
  assert.deepEqual(r, { resolved: [{ item: "b2", outcome: "rejected_other" }], mismatch: null });
  // The unknown count is cumulative like any other: it does not move, so b3 is simply counted.
  r = l.applyAck({ seq: 3, counted: 2, rejected: {}, rejectedOther: 1, last: "counted" });
  assert.deepEqual(r, { resolved: [{ item: "b3", outcome: "counted" }], mismatch: null });
  // A merged ack covering a known and an unknown refusal: exact as a multiset, `last` exact.
  r = l.applyAck({ seq: 5, counted: 2, rejected: { duplicate: 1 }, rejectedOther: 2, last: "duplicate" });
  assert.equal(r.mismatch, null);
  assert.deepEqual(
    r.resolved.map((x) => [x.item, x.outcome]),
    [
      ["b4", "rejected_other"],
      ["b5", "duplicate"],
    ],
  );
  assert.equal(l.inflightCount, 0);
});

test("an ack whose unknown-reason count does not add up is still a mismatch", () => {
  const l = new AckLedger<string>();
  l.sent("b1");
  const r = l.applyAck({ seq: 1, counted: 0, rejected: {}, rejectedOther: 2, last: "rejected_other" });
  assert.deepEqual(r.resolved, [{ item: "b1", outcome: "rejected_other" }]);
  assert.match(r.mismatch ?? "", /rejectedOther moved by 1/);
});
