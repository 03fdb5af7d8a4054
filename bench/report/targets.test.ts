import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunFigures } from "./report-types.ts";
import { evaluateTargets, TSUNG_MSGS_PER_CORE } from "./targets.ts";

function figures(over: Partial<RunFigures>): RunFigures {
  return {
    scenario: "ingest",
    mode: "flood",
    protocol: "v1",
    deflate: false,
    bytesPerTotalsDelivery: null,
    egressBytesPerViewerSec: null,
    connections: 100,
    durationSec: 10,
    tickHz: 10,
    buzzesSent: 0,
    buzzesCounted: 0,
    buzzesPerSec: 0,
    deliveriesPerSec: 0,
    latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
    framesMissed: 0,
    serverRssBytes: 1,
    serverCpuPct: 100,
    generatorCpuPct: 10,
    server: { kind: "buzzcast", nodes: 1, threads: 1, startedByBench: true, urls: [] },
    latencyKind: "tick-to-receipt",
    latencySamples: 1,
    connectionsRequested: 100,
    connectionsFailed: 0,
    droppedAfterReady: 0,
    failureReasons: {},
    connectMs: { p50: 1, p90: 1, p99: 1, max: 1 },
    countedVia: "http",
    ackCounted: 0,
    ackRejected: 0,
    tickGapMaxMs: 100,
    seqRegressions: 0,
    machineCpuPct: 150,
    otherCpuPct: 0,
    generator: { workers: 1, sndbufBytes: 65536, sndbufCapped: 100, tcpMemPauses: 0, sourceAddresses: 8, rssBytes: 1 },
    limitedBy: "server",
    notes: [],
    timeline: [],
    ...over,
  };
}

const byWhat = (rows: ReturnType<typeof evaluateTargets>, prefix: string) => {
  const r = rows.find((x) => x.what.startsWith(prefix));
  assert.ok(r, `row ${prefix}`);
  return r;
};

test("ingest flood: per-core ratio to bare uWS and the tick held, pass/fail at the GOALS thresholds", () => {
  const ours = figures({ buzzesPerServerCoreSec: 760_000, buzzesPerSec: 1_400_000, tickHz: 9.2, buzzesSent: 10_000_000 });
  const uws = figures({
    buzzesPerServerCoreSec: 1_000_000,
    buzzesPerSec: 1_000_000,
    tickHz: 0.2,
    server: { kind: "uws", nodes: 1, threads: 1, startedByBench: true, urls: [] },
  });
  const rows = evaluateTargets(ours, { uws }, 100);
  assert.deepEqual([byWhat(rows, "ingest, flood").ratio, byWhat(rows, "ingest, flood").pass], [0.76, true]);
  assert.deepEqual([byWhat(rows, "tick under").ratio, byWhat(rows, "tick under").pass], [0.92, true]);
  const slow = evaluateTargets({ ...ours, buzzesPerServerCoreSec: 740_000, tickHz: 8.9 }, { uws }, 100);
  assert.equal(byWhat(slow, "ingest, flood").pass, false);
  assert.equal(byWhat(slow, "tick under").pass, false);
  // Generator: 10M buzzes on 10% of a core for 10 s = 10M per core-second.
  const gen = byWhat(rows, "generator vs Tsung");
  assert.equal(gen.ratio, Math.round((10_000_000 / TSUNG_MSGS_PER_CORE) * 100) / 100);
  assert.equal(gen.pass, true);
});

test("without the baseline a ratio row says how to get it instead of passing or failing", () => {
  const rows = evaluateTargets(figures({ mode: "paced", serverCpuUsPerBuzz: 4 }), {}, 100);
  const paced = byWhat(rows, "ingest, paced");
  assert.equal(paced.ratio, null);
  assert.equal(paced.pass, null);
  assert.match(paced.measured, /--baseline uws/);
});

test("fan-out: tick rate scaled to the configured tick, p99 and CPU per delivery against bare uWS", () => {
  const ours = figures({
    scenario: "fanout",
    mode: null,
    tickHz: 19.2,
    latencyMs: { p50: 30, p90: 50, p99: 96, max: 120 },
    serverCpuUsPerDelivery: 7,
  });
  const uws = figures({ scenario: "fanout", mode: null, latencyMs: { p50: 30, p90: 50, p99: 80, max: 100 }, serverCpuUsPerDelivery: 6 });
  const rows = evaluateTargets(ours, { uws }, 50); // 20 Hz configured: 19.2 >= 19
  assert.equal(byWhat(rows, "fan-out to").pass, true);
  assert.deepEqual([byWhat(rows, "fan-out p99").ratio, byWhat(rows, "fan-out p99").pass], [1.2, true]);
  assert.deepEqual([byWhat(rows, "fan-out server CPU").ratio, byWhat(rows, "fan-out server CPU").pass], [1.17, true]);
});

test("fan-out: the HTTP API row fails on an answer over 1 s or a request not answered", () => {
  const api = (answered: number, maxMs: number) =>
    evaluateTargets(
      figures({ scenario: "fanout", mode: null, httpApi: { requests: 20, answered, p50Ms: 3, maxMs, timeoutMs: 5000 } }),
      {},
      100,
    );
  assert.equal(byWhat(api(20, 40), "HTTP API").pass, true);
  assert.equal(byWhat(api(20, 1200), "HTTP API").pass, false);
  assert.equal(byWhat(api(19, 5000), "HTTP API").pass, false);
  assert.equal(
    evaluateTargets(figures({ scenario: "fanout", mode: null }), {}, 100).some((r) => r.what.startsWith("HTTP API")),
    false,
  );
});

test("connections and show rows; the generator row fails when the generator was the limit", () => {
  const conn = evaluateTargets(
    figures({ scenario: "connections", mode: null, connections: 51_000, serverBytesPerConnection: 3 * 1024 + 1, limitedBy: "generator" }),
    {},
    100,
  );
  assert.equal(byWhat(conn, "connections held").pass, true);
  assert.equal(byWhat(conn, "server memory").pass, false);
  assert.equal(byWhat(conn, "load generator").pass, false);
  const uws = figures({ scenario: "fanout", latencyMs: { p50: 1, p90: 1, p99: 60, max: 70 } });
  const show = evaluateTargets(
    figures({ scenario: "show", latencyMs: { p50: 50, p90: 100, p99: 150, max: 200 }, countsExact: true }),
    { uws },
    100,
  );
  assert.deepEqual([byWhat(show, "buzz -> visible").ratio, byWhat(show, "buzz -> visible").pass], [0.94, true]);
  assert.equal(byWhat(show, "final totals").pass, true);
});
