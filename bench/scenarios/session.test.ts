import assert from "node:assert/strict";
import { test } from "node:test";
import { split, workersFor } from "../generator/fleet.ts";
import type { FleetTotals } from "../generator/fleet.ts";
import type { Snapshot } from "../run/sampler.ts";
import { limitedBy, limitNotes, windowFigures } from "./session.ts";

function fleet(over: Partial<FleetTotals>): FleetTotals {
  return {
    workers: 1,
    connecting: 0,
    ready: 1000,
    observers: 500,
    opened: 1000,
    failed: 0,
    droppedAfterReady: 0,
    reasons: {},
    buzzesSent: 0,
    ackCounted: 0,
    ackRejected: 0,
    totalsFrames: 0,
    totalsWireBytes: 0,
    rxBytes: 0,
    readyMs: 0,
    observerFrames: 0,
    observerMs: 0,
    framesMissed: 0,
    seqRegressions: 0,
    tcpMemPauses: 0,
    sndbufCapped: 0,
    cpuSec: 0,
    rssBytes: 0,
    tickGapMaxMs: 0,
    ...over,
  };
}
const snap = (tMs: number, f: Partial<FleetTotals>, serverCpuSec: number | null, machineBusySec: number | null): Snapshot => ({
  tMs,
  fleet: fleet(f),
  serverCpuSec,
  serverRssBytes: 1,
  machineBusySec,
  countedSeen: 0,
});

test("window figures: rates, tick rate per connection, CPU percent of one core, CPU left to others", () => {
  const a = snap(1000, { totalsFrames: 0, observerFrames: 0, observerMs: 0, cpuSec: 1, buzzesSent: 0, framesMissed: 2 }, 10, 100);
  const b = snap(
    11_000,
    { totalsFrames: 100_000, observerFrames: 50_000, observerMs: 5_000_000, cpuSec: 3, buzzesSent: 500_000, framesMissed: 5 },
    17,
    118,
  );
  const w = windowFigures(a, b);
  assert.equal(w.sec, 10);
  assert.equal(w.deliveriesPerSec, 10_000);
  assert.equal(w.tickHz, 10); // 50k frames over 5,000 observer-seconds
  assert.equal(w.generatorCpuPct, 20);
  assert.equal(w.serverCpuPct, 70);
  assert.equal(w.machineCpuPct, 180);
  assert.equal(w.otherCpuPct, 90);
  assert.equal(w.sent, 500_000);
  assert.equal(w.framesMissed, 3);
  const unknown = windowFigures(snap(0, {}, null, null), snap(1000, {}, null, null));
  assert.equal(unknown.serverCpuPct, null);
  assert.equal(unknown.otherCpuPct, null);
});

test("limitedBy names the saturated side, server first", () => {
  const base = {
    sec: 1,
    deliveries: 0,
    deliveriesPerSec: 0,
    tickHz: 0,
    sent: 0,
    framesMissed: 0,
    seqRegressions: 0,
    serverCpuSec: 1,
    otherCpuPct: 0,
    bytesPerTotalsDelivery: null,
    egressBytesPerViewerSec: null,
  };
  assert.equal(limitedBy({ ...base, serverCpuPct: 99, generatorCpuPct: 95, machineCpuPct: 195 }, 1, 1, 2), "server");
  assert.equal(limitedBy({ ...base, serverCpuPct: 120, generatorCpuPct: 95, machineCpuPct: 195 }, 2, 1, 2), "generator");
  assert.equal(limitedBy({ ...base, serverCpuPct: 60, generatorCpuPct: 60, machineCpuPct: 190 }, 1, 1, 2), "machine");
  assert.equal(limitedBy({ ...base, serverCpuPct: 20, generatorCpuPct: 10, machineCpuPct: 40 }, 1, 1, 2), "neither");
  assert.equal(limitedBy({ ...base, serverCpuPct: null, generatorCpuPct: 10, machineCpuPct: 40 }, 1, 1, 2), "unknown");
});

test("connection shares and rates split exactly; workers follow the 20k open-files limit", () => {
  assert.deepEqual(split(10, 3), [4, 3, 3]);
  assert.equal(
    split(50_001, 4).reduce((a, b) => a + b, 0),
    50_001,
  );
  assert.deepEqual(split(0, 2), [0, 0]);
  assert.equal(workersFor(200, 0), 1);
  assert.equal(workersFor(18_001, 0), 2);
  assert.equal(workersFor(50_000, 0), 3);
  assert.equal(workersFor(100, 2), 2);
});

test("limit notes: server file limit, several generator processes, ephemeral ports", () => {
  assert.deepEqual(limitNotes(1000, 1, 1, 8), []);
  const big = limitNotes(50_000, 1, 3, 1);
  assert.equal(big.length, 3);
  assert.match(big[0]!, /exceed what 1 server process/);
  assert.match(big[1]!, /3 generator processes/);
  assert.match(big[2]!, /ephemeral ports/);
  assert.deepEqual(limitNotes(50_000, 3, 1, 8), []);
});
