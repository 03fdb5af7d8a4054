/**
 * Latency histograms (hdr-histogram-js), recorded in microseconds, shipped between processes as
 * compressed base64 and merged by addition: merging interval histograms from every generator process
 * gives exactly the histogram one process would have recorded (HdrHistogram's add is lossless at the
 * configured precision of 3 significant digits).
 */
import * as hdr from "hdr-histogram-js";

export type Histogram = hdr.Histogram;

export function newLatencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: true,
    useWebAssembly: false,
  });
}

/** Records a latency in milliseconds (negative values, from clock skew between processes, count as 0). */
export function recordMs(h: Histogram, ms: number, count = 1): void {
  const us = Math.max(1, Math.round(ms * 1000));
  if (count === 1) h.recordValue(us);
  else h.recordValueWithCount(us, count);
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Adds every encoded histogram into `into` (or a new one) and returns it. */
export function mergeEncoded(encoded: Iterable<string>, into: Histogram = newLatencyHistogram()): Histogram {
  for (const e of encoded) into.add(decodeHistogram(e));
  return into;
}

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  count: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Percentiles in milliseconds; all zero when nothing was recorded. */
export function summarizeMs(h: Histogram): LatencyMs {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, max: 0, count: 0 };
  return {
    p50: round3(h.getValueAtPercentile(50) / 1000),
    p90: round3(h.getValueAtPercentile(90) / 1000),
    p99: round3(h.getValueAtPercentile(99) / 1000),
    // At 100 both a recorded and a merged histogram report the bucket's highest equivalent value.
    max: round3(h.getValueAtPercentile(100) / 1000),
    count: h.totalCount,
  };
}
