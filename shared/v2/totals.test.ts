/** TotalsEncoder (server, once per tick) and TotalsTracker (client) together, plus the size target. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { TotalsFrame } from "../protocol.ts";
import { decodeServerFrame } from "./decode.ts";
import { encodeServerFrame } from "./encode.ts";
import { V2EncodeError } from "./errors.ts";
import type { V2Delta, V2Keyframe, V2TotalsFrame, V2Welcome } from "./frames.ts";
import { TotalsEncoder, epochId } from "./totals-encoder.ts";
import { TotalsTracker } from "./totals-tracker.ts";

const ids = Array.from({ length: 10 }, (_, i) => `act-${i + 1}`);
const show = { id: "spring-gala", title: "Spring Gala", acts: ids.map((id, i) => ({ id, name: `Act ${i + 1}` })) };
const EPOCH = "lz3k9a0-abc123";
const fill = (v: number): number[] => new Array<number>(10).fill(v);
const totalsOf = (vals: number[]) => Object.fromEntries(ids.map((id, i) => [id, vals[i]!]));
const dec = (b: Uint8Array, n = ids.length) => decodeServerFrame(b, n) as V2TotalsFrame;
const welcomeAt = (seq: number, vals: number[]): V2Welcome => ({
  type: "welcome",
  show,
  epoch: EPOCH,
  epochId: epochId(EPOCH),
  seq,
  tickMs: 100,
  stage: { act: 9, open: true },
  totals: vals,
});

test("epochId: FNV-1a 32-bit of the UTF-8 epoch string", () => {
  assert.equal(epochId(""), 0x811c9dc5);
  assert.equal(epochId("a"), 0xe40c292c);
  assert.equal(epochId("foobar"), 0xbf9cf968);
});

test("encoder: keyframe first, then deltas of changed acts only; keyframe each second, on request, on table change, on seq jump", () => {
  const enc = new TotalsEncoder(1000);
  const vals = Array.from({ length: 10 }, (_, i) => 1_000_000 + i);
  assert.equal(enc.setTable(ids, EPOCH), true);
  assert.equal(enc.setTable(ids, EPOCH), false, "same table and epoch: no-op");
  let f = dec(enc.encode({ seq: 1, ts: 10_000, totals: totalsOf(vals) }));
  assert.deepEqual(f, { type: "keyframe", epochId: epochId(EPOCH), seq: 1, ts: 10_000, totals: vals });
  vals[9]! += 5;
  f = dec(enc.encode({ seq: 2, ts: 10_100, totals: totalsOf(vals), watching: 42 }));
  assert.deepEqual(f, { type: "delta", epochId: epochId(EPOCH), seq: 2, ts: 10_100, changes: [[9, 1_000_014]], watching: 42 });
  f = dec(enc.encode({ seq: 3, ts: 10_200, totals: totalsOf(vals) }));
  assert.deepEqual((f as V2Delta).changes, [], "heartbeat: empty delta");
  assert.equal(dec(enc.encode({ seq: 4, ts: 10_999, totals: totalsOf(vals) })).type, "delta");
  assert.equal(dec(enc.encode({ seq: 5, ts: 11_000, totals: totalsOf(vals) })).type, "keyframe", "1 s since the last keyframe");
  enc.requestKeyframe();
  assert.equal(dec(enc.encode({ seq: 6, ts: 11_100, totals: totalsOf(vals) })).type, "keyframe", "requested");
  assert.equal(dec(enc.encode({ seq: 8, ts: 11_200, totals: totalsOf(vals) })).type, "keyframe", "seq jumped");
  assert.equal(dec(enc.encode({ seq: 9, ts: 11_300, totals: totalsOf(vals) })).type, "delta");
  assert.equal(enc.setTable(ids.slice(0, 9), EPOCH), true);
  const k = dec(enc.encode({ seq: 10, ts: 11_400, totals: totalsOf(vals) }), 9) as V2Keyframe;
  assert.equal(k.type, "keyframe", "table changed");
  assert.equal(k.totals.length, 9);
});

test("encoder: a decrease within an epoch throws and keeps state; a new epoch may start from zero", () => {
  const enc = new TotalsEncoder();
  enc.setTable(ids, EPOCH);
  const vals = fill(5);
  enc.encode({ seq: 1, ts: 1, totals: totalsOf(vals) });
  assert.throws(() => enc.encode({ seq: 2, ts: 2, totals: totalsOf(fill(4)) }), V2EncodeError);
  enc.requestKeyframe();
  assert.throws(() => enc.encode({ seq: 2, ts: 2, totals: totalsOf(fill(4)) }), V2EncodeError, "a requested keyframe is no excuse");
  vals[0] = 6;
  assert.deepEqual(dec(enc.encode({ seq: 2, ts: 2, totals: totalsOf(vals) })).type, "keyframe");
  enc.setTable(ids, "new-epoch");
  assert.deepEqual((dec(enc.encode({ seq: 3, ts: 3, totals: {} })) as V2Keyframe).totals, fill(0));
  assert.throws(() => enc.encode({ seq: 4, ts: 4, totals: { "act-1": 1.5 } }), V2EncodeError);
});

test("property: a tracker fed every encoder frame always equals the server's totals", () => {
  const step = fc.record({ act: fc.nat({ max: 9 }), add: fc.nat({ max: 200 }), dt: fc.nat({ max: 400 }), drop: fc.boolean() });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const enc = new TotalsEncoder(1000);
      enc.setTable(ids, EPOCH);
      const vals = fill(0);
      const tr = new TotalsTracker();
      tr.welcome(welcomeAt(0, vals.slice()));
      let ts = 1_000_000;
      let seq = 0;
      for (const s of steps) {
        vals[s.act]! += s.add;
        ts += s.dt;
        const frame = dec(enc.encode({ seq: ++seq, ts, totals: totalsOf(vals) }));
        if (s.drop) continue; // lost: the tracker must notice and catch up at the next keyframe
        const r = tr.totals(frame);
        if (r === "gap") enc.requestKeyframe();
        if (!tr.needKeyframe) assert.deepEqual(tr.snapshot(), totalsOf(vals));
      }
      enc.requestKeyframe(); // a keyframe always catches the tracker up
      assert.equal(tr.totals(dec(enc.encode({ seq: seq + 1, ts, totals: totalsOf(vals) }))), "applied");
      assert.equal(tr.needKeyframe, false);
      assert.deepEqual(tr.snapshot(), totalsOf(vals));
      assert.equal(tr.decreasesIgnored, 0);
    }),
    { numRuns: 300 },
  );
});

test("tracker: gap on a seq jump, 'gap' once then 'waiting', resumes on a keyframe; stale frames dropped", () => {
  const tr = new TotalsTracker();
  const id = epochId(EPOCH);
  tr.welcome(welcomeAt(5, fill(100)));
  const delta = (seq: number, changes: Array<[number, number]>): V2Delta => ({ type: "delta", epochId: id, seq, ts: 0, changes });
  assert.equal(tr.totals(delta(6, [[0, 101]])), "applied");
  assert.equal(tr.totals(delta(6, [[0, 150]])), "stale");
  assert.equal(tr.totals(delta(8, [[0, 103]])), "gap");
  assert.equal(tr.needKeyframe, true);
  assert.equal(tr.totals(delta(9, [[0, 104]])), "waiting");
  assert.equal(tr.snapshot()["act-1"], 101, "nothing applied while waiting");
  assert.equal(tr.totals(delta(10, [[10, 1]])), "waiting");
  assert.equal(tr.totals({ type: "keyframe", epochId: id, seq: 10, ts: 0, totals: fill(110) }), "applied");
  assert.equal(tr.needKeyframe, false);
  assert.equal(tr.totals(delta(11, [[3, 111]])), "applied");
  assert.equal(tr.totals(delta(12, [[10, 1]])), "gap", "index beyond the table");
  assert.equal(tr.totals({ type: "delta", epochId: id + 1, seq: 13, ts: 0, changes: [] }), "waiting");
});

test("tracker: totals never decrease within an epoch (keyframe, delta, reconnect welcome); a new epoch resets", () => {
  const tr = new TotalsTracker();
  const id = epochId(EPOCH);
  tr.welcome(welcomeAt(5, fill(100)));
  tr.totals({ type: "keyframe", epochId: id, seq: 6, ts: 0, totals: fill(90) });
  assert.equal(tr.snapshot()["act-1"], 100);
  tr.totals({
    type: "delta",
    epochId: id,
    seq: 7,
    ts: 0,
    changes: [
      [1, 50],
      [2, 120],
    ],
  });
  assert.deepEqual([tr.snapshot()["act-2"], tr.snapshot()["act-3"]], [100, 120]);
  tr.welcome(welcomeAt(2, fill(80))); // reconnected to a process that lags
  assert.equal(tr.snapshot()["act-3"], 120);
  assert.equal(tr.seq, 2);
  assert.equal(tr.decreasesIgnored, 10 + 1 + 10);
  tr.show({ type: "show", show, epoch: "reset-1", epochId: epochId("reset-1") });
  assert.equal(tr.needKeyframe, true);
  assert.deepEqual(Object.values(tr.snapshot()), fill(0));
  assert.equal(tr.totals({ type: "keyframe", epochId: epochId("reset-1"), seq: 3, ts: 0, totals: fill(1) }), "applied");
  assert.equal(tr.epoch, "reset-1");
  assert.equal(tr.totals({ type: "keyframe", epochId: 77, seq: 4, ts: 0, totals: fill(0) }), "applied", "other epoch: taken as is");
  assert.equal(tr.epoch, null);
});

test("size: 10 acts, 7-digit totals, only the act on stage changed: v2 delta <= 1/10 of v1 JSON", () => {
  const vals = Array.from({ length: 10 }, (_, i) => 1_234_567 + i * 111_111);
  const v1: TotalsFrame = { type: "totals", show: show.id, epoch: EPOCH, seq: 123_457, ts: 1_712_345_678_901, totals: totalsOf(vals) };
  const v1Bytes = new TextEncoder().encode(JSON.stringify(v1)).length;
  const enc = new TotalsEncoder();
  enc.setTable(ids, EPOCH);
  const key = enc.encode({ seq: 123_456, ts: 1_712_345_678_801, totals: totalsOf(vals) });
  vals[9]! += 17;
  const delta = enc.encode({ seq: 123_457, ts: 1_712_345_678_901, totals: totalsOf(vals) });
  assert.equal(key[0], 0x11);
  assert.equal(delta[0], 0x12);
  const keyframe = encodeServerFrame({ type: "keyframe", epochId: epochId(EPOCH), seq: 123_457, ts: 1_712_345_678_901, totals: vals });
  console.log(
    `size: v1 JSON ${v1Bytes} B, v2 delta ${delta.length} B (ratio ${(delta.length / v1Bytes).toFixed(3)}), v2 keyframe ${keyframe.length} B`,
  );
  assert.ok(delta.length * 10 <= v1Bytes, `${delta.length} * 10 > ${v1Bytes}`);
  assert.ok(keyframe.length < v1Bytes / 4);
});
