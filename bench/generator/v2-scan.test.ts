import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeServerFrame } from "../../shared/v2/index.ts";
import { readTotalsHead, v2ActTotal, isTotalsFrame, type TotalsHead } from "./v2-scan.ts";

const head = (): TotalsHead => ({ epochId: 0, seq: 0, ts: 0, next: 0 });

test("totals frames: epochId, seq and ts read in place; an act's total from keyframes and deltas", () => {
  const at = 3; // frames sit anywhere in a shared read buffer
  const key = encodeServerFrame({
    type: "keyframe",
    epochId: 0xdeadbeef,
    seq: 123457,
    ts: 1712345678901,
    totals: [1, 1234567, 300],
    watching: 10,
  });
  const delta = encodeServerFrame({
    type: "delta",
    epochId: 5,
    seq: 9,
    ts: 17,
    changes: [
      [0, 2],
      [2, 1_000_000],
    ],
  });
  for (const frame of [key, delta]) {
    const buf = Buffer.concat([Buffer.alloc(at), frame, Buffer.alloc(2)]);
    assert.ok(isTotalsFrame(buf[at]));
    const h = readTotalsHead(buf, at, at + frame.length, head());
    if (frame === key) {
      assert.deepEqual([h.epochId, h.seq, h.ts], [0xdeadbeef, 123457, 1712345678901]);
      assert.deepEqual(
        [0, 1, 2, 3].map((i) => v2ActTotal(buf, at, at + frame.length, h, i)),
        [1, 1234567, 300, NaN],
      );
    } else {
      assert.deepEqual([h.epochId, h.seq, h.ts], [5, 9, 17]);
      assert.deepEqual(
        [0, 1, 2].map((i) => v2ActTotal(buf, at, at + frame.length, h, i)),
        [2, NaN, 1_000_000],
      );
    }
  }
  assert.ok(!isTotalsFrame(encodeServerFrame({ type: "stage", act: null, open: false })[0]));
});

test("a cut frame reads as NaN, never past its end", () => {
  const frame = Buffer.from(encodeServerFrame({ type: "delta", epochId: 5, seq: 300, ts: 17, changes: [] }));
  const h = readTotalsHead(frame, 0, 3, head());
  assert.equal(h.epochId, 5);
  assert.ok(Number.isNaN(h.seq), "seq's second byte is past the end");
});
