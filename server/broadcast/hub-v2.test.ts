/** The hub's v2 side with an injected clock and a fake App: what is encoded, when, and for whom. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { WebSocket } from "uWebSockets.js";
import { V2EncodeError, decodeServerFrame, type V2ServerFrame } from "../../shared/v2/index.ts";
import { silentLogger } from "../ops/logger.ts";
import { Metrics } from "../ops/metrics.ts";
import type { ShowRecord } from "../record/record.ts";
import { Show, type ShowHandle } from "../shows/show.ts";
import { Hub } from "./hub.ts";
import { KEYFRAME_REQUEST_GAP_MS, V2Show } from "./v2-show.ts";

/** A tick stamp at full rate with no audience (the base period is the hub's tickMs). */
const at = (ts: number, publishPeriodMs = 100, watching = 0) => ({ ts, publishPeriodMs, watching });

const rec = (acts: string[], version: number, epoch = "e1", stage: ShowRecord["stage"] = { act: null, open: false }): ShowRecord => ({
  show: { id: "s", title: "S", acts: acts.map((id) => ({ id, name: id.toUpperCase() })) },
  stage,
  epoch,
  version,
});

interface Sent {
  topic: string;
  tick: number;
  frame: V2ServerFrame;
}

function setup(opts: { tickMs?: number; v2Subscribers?: number } = {}) {
  const tickMs = opts.tickMs ?? 100;
  let tick = 0;
  let v2Subscribers = opts.v2Subscribers ?? 3;
  let actCount: number | undefined;
  const v2: Sent[] = [];
  const v1: Array<{ tick: number; frame: { type: string; seq?: number } }> = [];
  const metrics = new Metrics();
  const hub = new Hub(
    {
      publish: (topic, frame, binary) => {
        if (typeof frame === "string") return void v1.push({ tick, frame: JSON.parse(frame) as { type: string; seq?: number } });
        assert.ok(binary && topic.endsWith("/v2"), `binary frames go to the v2 topic only (${topic})`);
        const f = decodeServerFrame(frame, actCount);
        if (f.type === "show") actCount = f.show.acts.length;
        v2.push({ topic, tick, frame: f });
      },
      subscribers: (topic) => (topic.endsWith("/v2") ? v2Subscribers : 1),
    },
    metrics,
    { tickMs, heartbeatMs: 1000, policy: "once" },
    silentLogger,
  );
  const h: ShowHandle = Show.create(rec(["a", "b", "c"], 1));
  hub.showChanged(h.show, new Set(["show", "stage", "epoch"]));
  let now = 1_000_000;
  const run = (fresh?: Record<string, number>, stepMs = tickMs) => {
    tick++;
    hub.totals(h.show, fresh && new Map(Object.entries(fresh)), at((now += stepMs), tickMs));
  };
  const totals = () => v2.filter((s) => s.frame.type === "keyframe" || s.frame.type === "delta");
  return { hub, h, v1, v2, totals, run, metrics, setSubscribers: (n: number) => (v2Subscribers = n), now: () => now };
}

test("v2: one frame per show per tick whatever the audience, same seq as v1; deltas carry only changed acts", () => {
  const { v1, totals, run, setSubscribers } = setup({ v2Subscribers: 100_000 });
  run({ a: 1 });
  run({ a: 5, b: 0, c: 0 });
  setSubscribers(1);
  run({ a: 5, b: 2, c: 7 });
  run({ a: 5, b: 2, c: 7 }); // no change, no frame (before the heartbeat)
  const frames = totals().map((s) => s.frame);
  assert.deepEqual(
    frames.map((f) => [f.type, (f as { seq: number }).seq]),
    [
      ["keyframe", 1],
      ["delta", 2],
      ["delta", 3],
    ],
  );
  assert.deepEqual(
    v1.filter((p) => p.frame.type === "totals").map((p) => p.frame.seq),
    [1, 2, 3],
    "v1 frames carry the same seqs",
  );
  assert.deepEqual(frames[0], { ...frames[0], totals: [1, 0, 0] });
  assert.deepEqual((frames[1] as { changes: unknown }).changes, [[0, 5]]);
  assert.deepEqual((frames[2] as { changes: unknown }).changes, [
    [1, 2],
    [2, 7],
  ]);
  assert.equal(new Set(totals().map((s) => s.tick)).size, totals().length, "never two frames in one tick");
});

test("v2: a keyframe in every 1,000 ms window (ticks 100-149 ms apart, busy or idle), and after every table change", () => {
  const { h, hub, totals, run } = setup();
  let total = 0;
  for (let i = 0; i < 300; i++) {
    // Busy stretches (a change every tick) alternate with idle ones.
    const busy = Math.floor(i / 17) % 2 === 0;
    run(busy ? { a: ++total } : undefined, 100 + ((i * 37) % 50));
  }
  const keys = totals()
    .filter((s) => s.frame.type === "keyframe")
    .map((s) => (s.frame as { ts: number }).ts);
  assert.ok(keys.length > 20);
  const gaps = keys.slice(1).map((t, i) => t - keys[i]!);
  assert.ok(Math.max(...gaps) < 1000, `largest gap between keyframes ${Math.max(...gaps)} ms`);
  assert.ok(totals().some((s) => s.frame.type === "delta"));

  const edit = h.apply(rec(["a", "b", "c", "d"], 2));
  assert.ok(edit);
  hub.showChanged(h.show, edit.changes);
  const before = totals().length;
  run({ a: total });
  const after = totals().slice(before);
  assert.equal(after[0]?.frame.type, "keyframe", "the frame after a show edit is a keyframe");
  assert.deepEqual((after[0]?.frame as { totals: number[] }).totals, [total, 0, 0, 0]);
});

test("v2: the show frame precedes the keyframe of a reset; the stage names acts by index", () => {
  const { h, hub, v2, run } = setup();
  run({ a: 3 });
  const reset = h.apply(rec(["c", "a"], 2, "e2", { act: "a", open: true }));
  assert.ok(reset);
  const at = v2.length;
  hub.showChanged(h.show, reset.changes);
  run({ c: 0, a: 0 });
  const types = v2.slice(at).map((s) => s.frame);
  assert.equal(types[0]?.type, "show");
  assert.deepEqual(types[1], { type: "stage", act: 1, open: true });
  assert.equal(types[2]?.type, "keyframe");
  assert.deepEqual((types[2] as { totals: number[] }).totals, [0, 0]);
  assert.notEqual((types[2] as { epochId: number }).epochId, (v2[0]!.frame as { epochId: number }).epochId);
});

test("v2: no subscriber, nothing encoded; the first frame someone gets after joining is a keyframe", () => {
  const { totals, run, setSubscribers } = setup({ v2Subscribers: 0 });
  for (let i = 1; i <= 5; i++) run({ a: i });
  assert.equal(totals().length, 0);
  setSubscribers(1);
  run({ a: 6 });
  run({ a: 7 });
  assert.deepEqual(
    totals().map((s) => s.frame.type),
    ["keyframe", "delta"],
  );
});

test("v2: a keyframe request makes a keyframe due even without a change, at most once per KEYFRAME_REQUEST_GAP_MS", () => {
  const { h, hub, totals, run, now } = setup();
  run({ a: 1 }); // the first frame: a keyframe
  const first = now();
  for (let i = 0; i < 7; i++) {
    hub.requestKeyframe(h.show);
    run(undefined, 50);
  }
  const keys = totals()
    .filter((s) => s.frame.type === "keyframe")
    .map((s) => (s.frame as { ts: number }).ts - first);
  assert.deepEqual(keys, [0, KEYFRAME_REQUEST_GAP_MS], "requested every 50 ms, answered once the gap allowed");
  assert.equal(totals().length, 2, "requests inside the gap publish nothing");
});

test("v2: join subscribes to the v2 topic and sends the binary welcome (act table, totals in table order), cached per seq", () => {
  const { hub } = setup();
  const hs = Show.create(rec(["a", "b", "c"], 1, "e1", { act: "c", open: true }));
  hub.showChanged(hs.show, new Set(["show", "stage", "epoch"]));
  hub.totals(hs.show, new Map([["b", 4]]), at(2_000_000));
  const log: Array<string | Uint8Array> = [];
  const ws = {
    subscribe: (topic: string) => (log.push(`subscribe ${topic}`), true),
    cork: (fn: () => void) => (fn(), ws),
    send: (frame: string | Uint8Array, binary: boolean) => (log.push(binary ? frame : `TEXT ${String(frame)}`), 1),
    end: (code: number) => log.push(`end ${code}`),
  } as unknown as WebSocket<unknown>;
  hub.join(ws, hs.show, 2);
  hub.join(ws, hs.show, 2);
  assert.equal(log[0], "subscribe show/s/v2");
  assert.equal(log[1], log[3], "the same welcome bytes");
  const w = decodeServerFrame(log[1] as Uint8Array);
  assert.ok(w.type === "welcome");
  assert.deepEqual(
    [w.show.acts.map((a) => a.id), w.totals, w.stage, w.seq, w.tickMs, w.policy],
    [["a", "b", "c"], [0, 4, 0], { act: 2, open: true }, 1, 100, "once"],
  );
  hub.ack(ws, { lastSeq: 3, counted: 1, rejected: { duplicate: 2 }, last: "duplicate" }, 2);
  assert.deepEqual(decodeServerFrame(log[4] as Uint8Array), {
    type: "ack",
    seq: 3,
    counted: 1,
    rejected: { duplicate: 2 },
    last: "duplicate",
  });
  hub.close(ws, "bad_frame", "nope", 2);
  assert.deepEqual(decodeServerFrame(log[5] as Uint8Array), { type: "error", close: 4000, message: "nope" });
  assert.equal(log[6], "end 4000");
});

test("V2Show: a total that went down (a hub bug) throws V2EncodeError once; the retry is a keyframe", () => {
  const h = Show.create(rec(["a"], 1));
  const v2 = new V2Show("s");
  v2.redefine(h.show);
  assert.equal(decodeServerFrame(v2.totalsFrame(1, 1000, { a: 5 }, 850)).type, "keyframe");
  assert.throws(() => v2.totalsFrame(2, 1100, { a: 4 }, 850), V2EncodeError);
  const retry = decodeServerFrame(v2.totalsFrame(2, 1100, { a: 4 }, 850));
  assert.deepEqual([retry.type, (retry as { totals: number[] }).totals], ["keyframe", [4]]);
});

test("V2Show: tag 1 tickMs when given; tag 2 watching when it changed, and at least once per window", () => {
  const h = Show.create(rec(["a"], 1));
  const v2 = new V2Show("s");
  v2.redefine(h.show);
  const ext = (seq: number, ts: number, e: { tickMs?: number; watching?: number }) => {
    const f = decodeServerFrame(v2.totalsFrame(seq, ts, { a: seq }, 850, e)) as { tickMs?: number; watching?: number };
    return [f.tickMs, f.watching];
  };
  assert.deepEqual(ext(1, 1000, { watching: 5 }), [undefined, 5]);
  assert.deepEqual(ext(2, 1100, { watching: 5 }), [undefined, undefined], "unchanged: left out");
  assert.deepEqual(ext(3, 1200, { watching: 6, tickMs: 200 }), [200, 6]);
  assert.deepEqual(ext(4, 1400, { watching: 6, tickMs: 200 }), [200, undefined]);
  assert.deepEqual(ext(5, 2100, { watching: 6 }), [undefined, 6], "repeated once the window passed");
});

test("wire metrics: frames and bytes published by protocol", async () => {
  const { run, metrics } = setup({ v2Subscribers: 2 });
  run({ a: 1 });
  const { renderPrometheus } = await import("../ops/metrics.ts");
  const text = await renderPrometheus(metrics.exposition());
  const v = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text)?.[1]);
  assert.ok(v('buzzcast_protocol_frames_published_total{protocol="v2"}') >= 3, "show, stage, keyframe");
  assert.ok(v('buzzcast_protocol_bytes_published_total{protocol="v2"}') > 0);
  assert.equal(
    v('buzzcast_protocol_bytes_delivered_total{protocol="v2"}'),
    2 * v('buzzcast_protocol_bytes_published_total{protocol="v2"}'),
  );
  assert.ok(v('buzzcast_protocol_bytes_published_total{protocol="v1"}') > v('buzzcast_protocol_bytes_published_total{protocol="v2"}'));
  assert.equal(v('buzzcast_v2_decode_errors_total{reason="truncated"}'), 0);
});
