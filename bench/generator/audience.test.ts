import assert from "node:assert/strict";
import { test } from "node:test";
import { Audience, BenchConnection } from "./audience.ts";
import { wsDialect } from "./dialect.ts";
import type { WorkerPlan } from "./ipc.ts";

const plan: WorkerPlan = {
  worker: 0,
  targets: [{ host: "127.0.0.1", port: 1, path: "/ws" }],
  dialect: "ws",
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
  a.message(c, welcome, 0, welcome.length);
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
  a.message(c1, frame, 0, frame.length);
  a.message(c2, frame, 0, frame.length);
  assert.equal(a.totalsFrames, 2);
  assert.equal(a.observerFrames, 1);
  assert.equal(a.latencyHist.totalCount, 1);
});
