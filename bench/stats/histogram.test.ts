import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHistogram, encodeHistogram, mergeEncoded, newLatencyHistogram, recordMs, summarizeMs } from "./histogram.ts";

test("merging encoded histograms from several workers equals one histogram of all values", () => {
  const all = newLatencyHistogram();
  const parts: string[] = [];
  // Three "workers" with different distributions, each sending two interval histograms.
  for (let w = 0; w < 3; w++) {
    for (let interval = 0; interval < 2; interval++) {
      const h = newLatencyHistogram();
      for (let i = 1; i <= 1000; i++) {
        const ms = (w + 1) * i * 0.05 + interval;
        recordMs(h, ms);
        recordMs(all, ms);
      }
      parts.push(encodeHistogram(h));
    }
  }
  const merged = mergeEncoded(parts);
  assert.equal(merged.totalCount, 6000);
  assert.deepEqual(summarizeMs(merged), summarizeMs(all));
  // Worker 3's values dominate the tail: max is 3*1000*0.05 + 1 = 151 ms (within 0.1%).
  assert.ok(Math.abs(summarizeMs(merged).max - 151) / 151 < 0.001);
});

test("round trip keeps counts and percentiles; counts with weight; empty summary is zeros", () => {
  const h = newLatencyHistogram();
  recordMs(h, 2, 99);
  recordMs(h, 500);
  const back = decodeHistogram(encodeHistogram(h));
  assert.equal(back.totalCount, 100);
  const s = summarizeMs(back);
  assert.equal(s.p50, 2);
  assert.equal(s.p99, 2);
  assert.ok(Math.abs(s.max - 500) / 500 < 0.001);
  assert.deepEqual(summarizeMs(newLatencyHistogram()), { p50: 0, p90: 0, p99: 0, max: 0, count: 0 });
  recordMs(h, -3); // clock skew: clamped, not thrown
  assert.equal(h.totalCount, 101);
});
