import assert from "node:assert/strict";
import { test } from "node:test";
import type { Ack, TotalsFrame, Welcome } from "../../shared/protocol.ts";
import { actTotal, FrameKind, frameKind, key, numberField, sumObjectField } from "./frame-scan.ts";

const totals: TotalsFrame = {
  type: "totals",
  show: "demo",
  epoch: "e1",
  seq: 41,
  ts: 1732590000123.5,
  totals: { "act-1": 7, "act-2": 1200 },
};
const ack: Ack = { type: "ack", seq: 1000000009, counted: 8, rejected: { voting_closed: 1, duplicate: 2 }, last: "counted" };

function framed(obj: unknown, pad = "xx"): { buf: Buffer; start: number; end: number } {
  const json = JSON.stringify(obj);
  const buf = Buffer.from(`${pad}${json}${pad}{"seq":999}`);
  return { buf, start: pad.length, end: pad.length + Buffer.byteLength(json) };
}

test("classifies every server message type", () => {
  const welcome: Welcome = {
    type: "welcome",
    protocol: 1,
    show: { id: "demo", title: "Demo", acts: [] },
    stage: { act: null, open: false },
    tickMs: 100,
    epoch: "e",
    seq: 0,
    totals: {},
  };
  const cases: Array<[unknown, FrameKind]> = [
    [totals, FrameKind.Totals],
    [ack, FrameKind.Ack],
    [welcome, FrameKind.Welcome],
    [{ type: "stage", act: null, open: false }, FrameKind.Stage],
    [{ type: "show", show: welcome.show, epoch: "e" }, FrameKind.Show],
    [{ type: "error", code: "bad_frame", message: "x" }, FrameKind.Error],
    [{ nope: 1 }, FrameKind.Other],
  ];
  for (const [obj, kind] of cases) {
    const f = framed(obj);
    assert.equal(frameKind(f.buf, f.start, f.end), kind, JSON.stringify(obj));
  }
});

test("reads numbers, decimals, per-act totals and sums within the frame's bounds only", () => {
  const f = framed(totals);
  assert.equal(numberField(f.buf, key("seq"), f.start, f.end), 41);
  assert.equal(numberField(f.buf, key("ts"), f.start, f.end), 1732590000123.5);
  assert.equal(actTotal(f.buf, key("totals"), key("act-2"), f.start, f.end), 1200);
  assert.ok(Number.isNaN(actTotal(f.buf, key("totals"), key("act-9"), f.start, f.end)));
  assert.equal(sumObjectField(f.buf, key("totals"), f.start, f.end), 1207);
  // A key that exists only after the frame's end is not found.
  const g = framed({ type: "totals" });
  assert.ok(Number.isNaN(numberField(g.buf, key("seq"), g.start, g.end)));
});

test("ack fields: cumulative counted, processed seq, rejected sum", () => {
  const f = framed(ack);
  assert.equal(numberField(f.buf, key("counted"), f.start, f.end), 8);
  assert.equal(numberField(f.buf, key("seq"), f.start, f.end), 1000000009);
  assert.equal(sumObjectField(f.buf, key("rejected"), f.start, f.end), 3);
  const empty = framed({ ...ack, rejected: {} });
  assert.equal(sumObjectField(empty.buf, key("rejected"), empty.start, empty.end), 0);
});
