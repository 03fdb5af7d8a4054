import assert from "node:assert/strict";
import { test } from "node:test";
import { newLatencyHistogram, summarizeMs } from "../stats/histogram.ts";
import { VisibilityTracker } from "./visibility.ts";

test("each observer records one latency per buzz, first in first out, from the base total", () => {
  const hist = newLatencyHistogram();
  const t = new VisibilityTracker("act-1", 100, hist);
  for (let i = 0; i < 2000; i++) t.sentAt(1000 + i); // grows past the initial capacity
  // Observer 1 sees totals 100 (nothing new), 150, then 2100 (the rest); observer 2 sees 2100 once.
  t.observed(1, 100, 5000);
  t.observed(1, 150, 1100);
  t.observed(1, 150, 1200); // repeated total: nothing new
  t.observed(1, 2100, 4000);
  t.observed(2, 2100, 3000);
  t.observed(2, 9999, 9000); // beyond what was sent: capped at the buzzes sent
  assert.equal(hist.totalCount, 4000);
  const s = summarizeMs(hist);
  // Smallest: observer 2, last buzz sent at 2999, seen at 3000 -> 1 ms.
  assert.ok(Math.abs(hist.getValueAtPercentile(0) - 1000) <= 1);
  // Largest: observer 1, buzz 50 sent at 1050, seen at 4000 -> 2950 ms.
  assert.ok(Math.abs(s.max - 2950) / 2950 < 0.001);
  assert.equal(t.buzzesTracked, 2000);
});
