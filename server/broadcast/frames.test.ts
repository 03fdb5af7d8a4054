import { test } from "node:test";
import assert from "node:assert/strict";
import type { RejectReason } from "../../shared/codes.ts";
import { Ack } from "../../shared/protocol.ts";
import { ackFrame, errorFrame, type AckState } from "./frames.ts";

test("the templated ack equals JSON.stringify of the same Ack, byte for byte", () => {
  const states: AckState[] = [
    { lastSeq: -1, counted: 0, rejected: {}, last: "counted" },
    { lastSeq: 1, counted: 1, rejected: {}, last: "counted" },
    { lastSeq: Number.MAX_SAFE_INTEGER, counted: 123456789, rejected: { duplicate: 3 }, last: "duplicate" },
  ];
  // Every insertion order of every reason: JSON.stringify follows insertion order, so must the template.
  const reasons: RejectReason[] = ["out_of_order", "voting_closed", "rate_limited", "unknown_act", "duplicate"];
  for (let i = 0; i < reasons.length; i++) {
    const rejected: Partial<Record<RejectReason, number>> = {};
    for (let k = 0; k < reasons.length; k++) rejected[reasons[(i + k) % reasons.length]!] = k * 7 + 1;
    states.push({ lastSeq: 40 + i, counted: i, rejected, last: reasons[i]! });
  }
  for (const a of states) {
    const ack: Ack = { type: "ack", seq: a.lastSeq, counted: a.counted, rejected: a.rejected, last: a.last };
    assert.equal(ackFrame(a), JSON.stringify(ack));
    if (a.lastSeq >= 0) assert.deepEqual(Ack.parse(JSON.parse(ackFrame(a))), ack);
  }
});

test("error frames escape whatever the message holds", () => {
  const f = JSON.parse(errorFrame("bad_frame", 'act: "x\n" \\ é')) as { type: string; code: string; message: string };
  assert.deepEqual(f, { type: "error", code: "bad_frame", message: 'act: "x\n" \\ é' });
});
