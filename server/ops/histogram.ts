/**
 * A latency histogram whose hot path is plain arithmetic: `observe` is a scan of a dozen bucket
 * bounds and two increments, no allocation and no label lookup, cheap enough to run once per ack.
 * At scrape time it is handed to prom-client in prom-client's own JSON form (`getMetricsAsJSON`),
 * so the node's registry aggregates it over worker threads (bucket by bucket) and renders it.
 *
 * Single writer: the thread that owns the Metrics it belongs to.
 */
import type { MetricJson } from "./metrics.ts";

/** Upper bounds (seconds) from 0.5 ms to 10 s: ticks and acks sit at the low end, flushes and claims higher. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class LatencyHistogram {
  /** counts[i]: observations <= bounds[i] and > bounds[i-1]; the last slot is +Inf. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Record one observation in seconds; a negative or non-finite value is clamped to 0 (the clock is monotonic, so this is defensive). */
  observe(seconds: number): void {
    const v = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** Observations so far. */
  get observations(): number {
    return this.count;
  }

  /** prom-client's JSON form of a histogram: cumulative `_bucket` samples by `le`, then `_sum` and `_count`. */
  json(): MetricJson {
    const values: MetricJson["values"] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < this.bounds.length ? this.bounds[i]! : "+Inf";
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
  }
}
