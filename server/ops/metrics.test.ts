import assert from "node:assert/strict";
import { test } from "node:test";
import { promtoolCheck } from "../../test/harness/promtool.ts";
import { LatencyHistogram } from "./histogram.ts";
import { Metrics, renderPrometheus } from "./metrics.ts";

const sample = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};

test("label values are escaped, never mangled, and the exposition passes promtool", async () => {
  const m = new Metrics();
  const show = 'a "quoted" show \\ with\na newline';
  m.addCollector(() => [{ name: "buzzcast_test_viewers", help: "Test family.", kind: "gauge", samples: [{ labels: { show }, value: 7 }] }]);
  const text = await renderPrometheus(m.exposition());
  assert.ok(text.includes('buzzcast_test_viewers{show="a \\"quoted\\" show \\\\ with\\na newline"} 7'), text);
  const verdict = promtoolCheck(text);
  assert.ok(verdict.ok, verdict.output);
});

test("several threads' snapshots aggregate: counters and histograms sum, max gauges take the max", async () => {
  const a = new Metrics();
  const b = new Metrics();
  a.buzzesReceived = 3;
  b.buzzesReceived = 4;
  a.countClose("flooding");
  b.countClose("flooding");
  b.countClose("bad_frame");
  a.observeTick(0.002, 0.001, false);
  b.observeTick(0.03, 0.004, true);
  a.ackLatency.observe(0.0007);
  b.ackLatency.observe(0.2);
  const text = await renderPrometheus(a.exposition(), b.exposition());
  assert.equal(sample(text, "buzzcast_buzzes_received_total"), 7);
  assert.equal(sample(text, 'buzzcast_closes_total{code="flooding"}'), 2);
  assert.equal(sample(text, 'buzzcast_closes_total{code="bad_frame"}'), 1);
  assert.equal(sample(text, "buzzcast_tick_duration_seconds_max"), 0.03);
  assert.equal(sample(text, "buzzcast_tick_duration_seconds_count"), 2);
  assert.equal(sample(text, 'buzzcast_tick_duration_seconds_bucket{le="0.0025"}'), 1);
  assert.equal(sample(text, 'buzzcast_tick_duration_seconds_bucket{le="0.05"}'), 2);
  assert.equal(sample(text, 'buzzcast_ack_latency_seconds_bucket{le="0.001"}'), 1);
  assert.equal(sample(text, 'buzzcast_ack_latency_seconds_bucket{le="+Inf"}'), 2);
  assert.ok(Math.abs(sample(text, "buzzcast_ack_latency_seconds_sum") - 0.2007) < 1e-12);
  assert.equal(sample(text, "buzzcast_ticks_from_message_path_total"), 1);
  const verdict = promtoolCheck(text);
  assert.ok(verdict.ok, verdict.output);
});

test("a latency histogram's buckets are cumulative and bounded by +Inf", () => {
  const h = new LatencyHistogram("x_seconds", "x", [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 3, -1, Number.NaN]) h.observe(v);
  const byLe = new Map(
    h
      .json()
      .values.filter((v) => v.metricName === "x_seconds_bucket")
      .map((v) => [v.labels.le, v.value]),
  );
  assert.deepEqual(
    [...byLe],
    [
      [0.1, 4],
      [1, 5],
      ["+Inf", 6],
    ],
  );
  assert.equal(h.observations, 6);
});

test("promtool rejects the names /metrics used to have (the check can fail)", () => {
  const old = [
    "# HELP buzzcast_tick_period_ms Effective publishing period.",
    "# TYPE buzzcast_tick_period_ms gauge",
    "buzzcast_tick_period_ms 100",
    "# HELP buzzcast_tick_duration_seconds_sum Total time spent in ticks.",
    "# TYPE buzzcast_tick_duration_seconds_sum counter",
    "buzzcast_tick_duration_seconds_sum 1.5",
    "# HELP buzzcast_counter_slots_used Counter slots held.",
    "# TYPE buzzcast_counter_slots_used gauge",
    "buzzcast_counter_slots_used 3",
    "",
  ].join("\n");
  const verdict = promtoolCheck(old);
  assert.equal(verdict.ok, false);
  for (const name of ["buzzcast_tick_period_ms", "buzzcast_tick_duration_seconds_sum", "buzzcast_counter_slots_used"])
    assert.ok(verdict.output.includes(name), `promtool names ${name}: ${verdict.output}`);
});
