import assert from "node:assert/strict";
import { test } from "node:test";
import { basicFrameCheck } from "./frame-check.ts";
import { strictFrameCheck } from "./strict-check.ts";

const show = { id: "demo", title: "Demo", acts: [{ id: "act-1", name: "One" }] };
const valid: unknown[] = [
  { type: "welcome", protocol: 1, show, stage: { act: "act-1", open: true }, tickMs: 100, epoch: "e", seq: 0, totals: { "act-1": 3 } },
  { type: "welcome", protocol: 1, show, stage: { act: null, open: false }, tickMs: 100, epoch: "e", seq: 4, totals: {}, policy: "once" },
  { type: "totals", show: "demo", epoch: "e", seq: 1, ts: 1700000000000, totals: { "act-1": 4 } },
  { type: "stage", act: null, open: false },
  { type: "show", show, epoch: "e2" },
  { type: "ack", seq: 3, counted: 2, rejected: { duplicate: 1 }, last: "duplicate" },
  { type: "error", code: "draining", message: "bye" },
];
const invalid: unknown[] = [
  null,
  5,
  "welcome",
  [],
  {},
  { type: "nope" },
  { type: "totals", show: "demo", epoch: "e", seq: -1, ts: 1, totals: {} },
  { type: "totals", show: "demo", epoch: "e", seq: 1, ts: 1, totals: { a: "3" } },
  { type: "totals", show: "demo", epoch: 7, seq: 1, ts: 1, totals: {} },
  { type: "stage", act: 3, open: false },
  { type: "stage", act: "a" },
  { type: "ack", seq: 1, counted: 1.5, rejected: {}, last: "counted" },
  { type: "ack", seq: 1, counted: 1, rejected: { duplicate: -1 }, last: "counted" },
  {
    type: "welcome",
    protocol: 1,
    show: { id: "d", title: "t", acts: [{ id: "a" }] },
    stage: { act: null, open: false },
    tickMs: 1,
    epoch: "e",
    seq: 0,
    totals: {},
  },
  {
    type: "welcome",
    protocol: 1,
    show,
    stage: { act: null, open: false },
    tickMs: 100,
    epoch: "e",
    seq: 0,
    totals: {},
    policy: "sometimes",
  },
  { type: "show", show, epoch: null },
  { type: "error", code: "x" },
];

test("the cheap check accepts every frame the shared zod schema accepts", () => {
  for (const f of valid) {
    assert.equal(typeof strictFrameCheck(f), "object", `zod accepts ${JSON.stringify(f)}`);
    assert.deepEqual(basicFrameCheck(f), f);
  }
});

test("the cheap check refuses malformed frames that zod refuses, with a reason", () => {
  for (const f of invalid) {
    assert.equal(typeof strictFrameCheck(f), "string", `zod refuses ${JSON.stringify(f)}`);
    assert.equal(typeof basicFrameCheck(f), "string", `cheap check refuses ${JSON.stringify(f)}`);
  }
});

test("an ack naming reasons this client does not know: both checks read them as rejected_other, never refuse", () => {
  const future = { type: "ack", seq: 4, counted: 1, rejected: { duplicate: 1, new_reason: 1, newer_reason: 1 }, last: "new_reason" };
  const read = { type: "ack", seq: 4, counted: 1, rejected: { duplicate: 1 }, rejectedOther: 2, last: "rejected_other" };
  assert.deepEqual(basicFrameCheck(future), read);
  assert.deepEqual(strictFrameCheck(future), read);
  for (const bad of [
    { ...future, rejected: { new_reason: -1 } },
    { ...future, last: "" },
  ]) {
    assert.equal(typeof basicFrameCheck(bad), "string", JSON.stringify(bad));
    assert.equal(typeof strictFrameCheck(bad), "string", JSON.stringify(bad));
  }
});
