import assert from "node:assert/strict";
import { test } from "node:test";
import { Audience } from "./audience.ts";
import { BenchConnection } from "./bench-connection.ts";
import { CLOSE } from "../../shared/codes.ts";
import { encodeServerFrame, type V2ServerFrame } from "../../shared/v2/index.ts";
import { wsDialect } from "./dialect.ts";
import type { WorkerPlan } from "./ipc.ts";

const plan: WorkerPlan = {
  worker: 0,
  targets: [{ host: "127.0.0.1", port: 1, path: "/ws" }],
  dialect: "ws",
  protocol: "v1",
  deflate: false,
  show: "demo",
  connections: 3,
  firstIndex: 0,
  sourceAddresses: ["127.0.0.2"],
  connectRatePerSec: 0,
  maxPendingConnects: 1,
  sndbuf: 0,
  statsIntervalMs: 500,
  tcpMemBudgetBytes: 0,
};

function readyConnection(a: Audience, id: number): BenchConnection {
  const c = new BenchConnection(id, a, wsDialect);
  a.conns.push(c);
  a.connecting++;
  // What a welcome does to a connection (private onWelcome), via the frame path.
  const welcome = Buffer.from(
    JSON.stringify({
      type: "welcome",
      protocol: 1,
      show: { id: "demo", title: "Demo", acts: [] },
      stage: { act: null, open: false },
      tickMs: 100,
      epoch: "e",
      seq: 0,
      totals: {},
    }),
  );
  a.message(c, welcome, 0, welcome.length, false);
  return c;
}

test("senders are not observers: observer count follows sending, and a sender leaves the visibility set", async () => {
  const a = new Audience(plan);
  const [c0, c1, c2] = [0, 1, 2].map((i) => readyConnection(a, i)) as [BenchConnection, BenchConnection, BenchConnection];
  assert.equal(a.readyCount, 3);
  assert.equal(a.observerCount, 3);
  a.observers = new Set([0, 1, 2]);
  a.setSending(c0, true);
  a.setSending(c0, true); // idempotent
  assert.equal(a.observerCount, 2);
  assert.deepEqual([...a.observers].sort(), [1, 2]);
  a.setSending(c0, false);
  assert.equal(a.observerCount, 3);
  assert.ok(!a.observers.has(0), "a former sender does not come back as an observer");
  // observerMs integrates the count over time.
  a.accrue();
  const before = a.observerMs;
  await new Promise((r) => setTimeout(r, 50));
  a.accrue();
  assert.ok(a.observerMs - before >= 3 * 45, `${a.observerMs - before} observer-ms over ~50 ms`);
  // Totals frames from a sender are deliveries but not observations.
  a.setSending(c1, true);
  const frame = Buffer.from(JSON.stringify({ type: "totals", show: "demo", epoch: "e", seq: 1, ts: Date.now(), totals: { "act-1": 1 } }));
  a.message(c1, frame, 0, frame.length, false);
  a.message(c2, frame, 0, frame.length, false);
  assert.equal(a.totalsFrames, 2);
  assert.equal(a.observerFrames, 1);
  assert.equal(a.latencyHist.totalCount, 1);
});

test("protocol v2: welcome, totals and acks counted like v1; the reference connection tracks whole totals", () => {
  const a = new Audience({ ...plan, protocol: "v2" });
  const send = (c: BenchConnection, f: V2ServerFrame) => {
    const b = Buffer.from(encodeServerFrame(f));
    a.message(c, b, 0, b.length, true);
  };
  const acts = [
    { id: "act-1", name: "One" },
    { id: "act-2", name: "Two" },
  ];
  const conns = [0, 1].map((i) => {
    const c = new BenchConnection(i, a, wsDialect);
    a.conns.push(c);
    a.connecting++;
    send(c, {
      type: "welcome",
      show: { id: "demo", title: "D", acts },
      epoch: "e",
      epochId: 9,
      seq: 4,
      tickMs: 100,
      stage: { act: 1, open: true },
      totals: [0, 0],
    });
    return c;
  }) as [BenchConnection, BenchConnection];
  assert.equal(a.readyCount, 2);
  assert.equal(a.v2ActIndex("act-2"), 1);
  assert.equal(a.v2ActIndex("nope"), undefined);
  const ts = Date.now();
  for (const c of conns) send(c, { type: "keyframe", epochId: 9, seq: 5, ts, totals: [3, 1_000_000] });
  for (const c of conns) send(c, { type: "delta", epochId: 9, seq: 7, ts, changes: [[1, 1_000_001]] }); // seq 6 missed
  assert.equal(a.totalsFrames, 4);
  assert.equal(a.framesMissed, 2);
  assert.deepEqual(a.lastTotals, { epoch: "e", seq: 7, sum: 1_000_004, byAct: { "act-1": 3, "act-2": 1_000_001 } });
  send(conns[0], { type: "ack", seq: 3, counted: 2, rejected: { duplicate: 1 }, last: "duplicate" });
  assert.deepEqual([a.ackCounted, a.ackRejected], [2, 1]);
  send(conns[1], { type: "error", close: CLOSE.unknown_show.code, message: "x" });
  assert.equal(a.reasons["error:unknown_show"], 1);
  a.message(conns[1], Buffer.from("{}"), 0, 2, false);
  assert.equal(a.reasons["text-frame-on-v2"], 1);
});
