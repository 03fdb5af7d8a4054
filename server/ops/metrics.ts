/**
 * Process metrics, exposed in the Prometheus text format on GET /metrics through prom-client.
 *
 * Hot-path counters are plain numeric fields (an increment is one property write); latencies are
 * LatencyHistograms (ops/histogram.ts), equally cheap to observe. Components contribute families
 * with `addCollector`, read at scrape time. A scrape turns all of it into prom-client's JSON form
 * (`exposition`, structured-clone safe), and `renderPrometheus` aggregates any number of them
 * (one per worker thread, plus the supervisor's own) with prom-client's AggregatorRegistry into the
 * node's one registry and renders it: counters, histograms and gauges sum over threads, gauges
 * marked `merge: "max"` take the largest value. prom-client escapes label values and help text.
 */
import { AggregatorRegistry } from "prom-client";
import { REJECT_REASONS, type RejectReason } from "../../shared/codes.ts";
import { LatencyHistogram } from "./histogram.ts";

type Kind = "counter" | "gauge";
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string;
  kind: Kind;
  merge?: "sum" | "max";
  samples: Sample[];
}

/** One metric family in prom-client's JSON form (what `Registry.getMetricsAsJSON` returns). */
export interface MetricJson {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  aggregator: "sum" | "max";
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}
/** A thread's metrics at one scrape, as prom-client JSON. */
export type MetricsSnapshot = MetricJson[];

export class Metrics {
  connections = 0;
  connectionsTotal = 0;
  connectionsRefused = 0;
  buzzesReceived = 0;
  buzzesCounted = 0;
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  /** Closes the client caused or the server initiated, by close name. */
  readonly closes: Record<string, number> = {};
  framesPublished = 0;
  sendDropped = 0;
  sendBackpressured = 0;
  slowConsumersClosed = 0;
  backpressuredConnections = 0;
  ticks = 0;
  ticksFromMessagePath = 0;
  tickSecondsMax = 0;
  tickLagSecondsMax = 0;
  storeFlushes = 0;
  storeFlushErrors = 0;
  storeSkippedTicks = 0;
  httpRequests = 0;
  httpErrors = 0;
  /** GET /api/shows/:show answered without `durable` because the record failed or was slow. */
  durableTotalsUnavailable = 0;
  /** Admin changes refused with 409 conflict: another change was saved from the same show version first. */
  adminConflicts = 0;
  /** Phase 1 of each tick (acks, audience, handing the deltas to the store). */
  readonly tickDuration = new LatencyHistogram(
    "buzzcast_tick_duration_seconds",
    "Time spent in a tick's flush phase (acks, audience, handing the deltas to the store).",
  );
  /** From a tick's aligned instant to its phase 2 (read totals, publish) starting. */
  readonly phase2Delay = new LatencyHistogram(
    "buzzcast_tick_phase2_delay_seconds",
    "Time from a tick's aligned instant to its phase 2 (read totals, publish) starting: once every unit flushed, PUBLISH_OFFSET_MS at the latest.",
  );
  /** Each store flush, from hand-over to its result (failed ones included). */
  readonly storeFlushDuration = new LatencyHistogram(
    "buzzcast_store_flush_duration_seconds",
    "Time from handing a tick's deltas to the store to the store's answer (failed flushes included).",
  );
  /** From the first buzz an ack covers being received to that ack being sent. */
  readonly ackLatency = new LatencyHistogram(
    "buzzcast_ack_latency_seconds",
    "Time from the first buzz an ack covers being received to the ack being sent (includes waiting for once decisions).",
  );
  /** From a `once` claim being handed to the store to its decision being applied. */
  readonly claimDecision = new LatencyHistogram(
    "buzzcast_claim_decision_seconds",
    "Time from a once claim being handed to the store to its decision (counted or duplicate) being applied.",
  );
  /** Extra families contributed by components (cache, record, store); read at scrape time. */
  private readonly collectors: Array<() => Family[]> = [];

  countClose(name: string): void {
    this.closes[name] = (this.closes[name] ?? 0) + 1;
  }

  addCollector(fn: () => Family[]): void {
    this.collectors.push(fn);
  }

  observeTick(seconds: number, lagSeconds: number, fromMessagePath: boolean): void {
    this.ticks++;
    if (fromMessagePath) this.ticksFromMessagePath++;
    this.tickDuration.observe(seconds);
    if (seconds > this.tickSecondsMax) this.tickSecondsMax = seconds;
    if (lagSeconds > this.tickLagSecondsMax) this.tickLagSecondsMax = lagSeconds;
  }

  /** The field families and every collector's, as Family values (histograms are in `exposition`). */
  snapshot(): Family[] {
    const c = (name: string, help: string, value: number): Family => ({ name, help, kind: "counter", samples: [{ value }] });
    const g = (name: string, help: string, value: number, merge: "sum" | "max" = "sum"): Family => ({
      name,
      help,
      kind: "gauge",
      merge,
      samples: [{ value }],
    });
    return [
      g("buzzcast_connections", "Open WebSocket connections.", this.connections),
      c("buzzcast_connections_total", "WebSocket connections accepted.", this.connectionsTotal),
      c("buzzcast_connections_refused_total", "Connections refused at the connection limit.", this.connectionsRefused),
      c("buzzcast_buzzes_received_total", "Buzz frames received.", this.buzzesReceived),
      c("buzzcast_buzzes_counted_total", "Buzzes counted.", this.buzzesCounted),
      {
        name: "buzzcast_buzzes_rejected_total",
        help: "Buzzes not counted, by reason.",
        kind: "counter",
        samples: REJECT_REASONS.map((reason) => ({ labels: { reason }, value: this.rejected[reason] })),
      },
      {
        name: "buzzcast_closes_total",
        help: "Connections closed by the server, by close name (bad input, drain, slow consumer...).",
        kind: "counter",
        samples: Object.entries(this.closes).map(([code, value]) => ({ labels: { code }, value })),
      },
      c("buzzcast_frames_published_total", "Frames published to show topics (each reaches every subscriber).", this.framesPublished),
      c(
        "buzzcast_send_dropped_total",
        "Direct frames (welcome, ack, error) dropped for a client over the backpressure limit.",
        this.sendDropped,
      ),
      c("buzzcast_send_backpressured_total", "Direct frames buffered behind backpressure.", this.sendBackpressured),
      g(
        "buzzcast_backpressured_connections",
        "Connections over the backpressure limit at the last sweep (publishes to them are dropped).",
        this.backpressuredConnections,
      ),
      c(
        "buzzcast_slow_consumers_closed_total",
        "Connections closed for staying over the backpressure limit or parked too long (reader flow control).",
        this.slowConsumersClosed,
      ),
      c("buzzcast_ticks_total", "Ticks run.", this.ticks),
      c(
        "buzzcast_ticks_from_message_path_total",
        "Ticks run by the due-check on the message path (timer starved by load).",
        this.ticksFromMessagePath,
      ),
      g("buzzcast_tick_duration_seconds_max", "Longest tick flush phase since start.", this.tickSecondsMax, "max"),
      g("buzzcast_tick_lag_seconds_max", "Largest delay of a tick past its due time since start.", this.tickLagSecondsMax, "max"),
      c("buzzcast_store_flushes_total", "Tick flushes into the store.", this.storeFlushes),
      c("buzzcast_store_flush_errors_total", "Tick flushes that failed (deltas retained for the next tick).", this.storeFlushErrors),
      c("buzzcast_store_skipped_ticks_total", "Ticks that found the previous flush still in flight.", this.storeSkippedTicks),
      c("buzzcast_http_requests_total", "HTTP requests.", this.httpRequests),
      c("buzzcast_http_errors_total", "HTTP requests answered with 4xx/5xx.", this.httpErrors),
      c(
        "buzzcast_durable_totals_unavailable_total",
        "Show state answered without durable totals: the record failed or took over 1 s.",
        this.durableTotalsUnavailable,
      ),
      c(
        "buzzcast_admin_conflicts_total",
        "Admin changes answered 409 conflict (another change was saved from the same show version first; nothing applied).",
        this.adminConflicts,
      ),
      ...this.collectors.flatMap((fn) => fn()),
    ];
  }

  /** Everything this thread reports, histograms included, in prom-client's JSON form (structured-clone safe). */
  exposition(): MetricsSnapshot {
    return [
      ...this.snapshot().map(familyJson),
      this.tickDuration.json(),
      this.storeFlushDuration.json(),
      this.phase2Delay.json(),
      this.ackLatency.json(),
      this.claimDecision.json(),
    ];
  }
}

/** A Family in prom-client's JSON form (non-finite values are reported as 0, as before). */
export function familyJson(f: Family): MetricJson {
  return {
    name: f.name,
    help: f.help,
    type: f.kind,
    aggregator: f.merge ?? "sum",
    values: f.samples.map((s) => ({ value: Number.isFinite(s.value) ? s.value : 0, labels: s.labels ?? {} })),
  };
}

/**
 * The Prometheus text of one or more snapshots (a node's worker threads and its supervisor),
 * aggregated family by family and label set by label set with prom-client's AggregatorRegistry.
 */
export async function renderPrometheus(...snaps: ReadonlyArray<ReadonlyArray<MetricJson | Family>>): Promise<string> {
  return AggregatorRegistry.aggregate(snaps.map((s) => s.map((m) => ("samples" in m ? familyJson(m) : m)))).metrics();
}

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
