/**
 * Process metrics, rendered as Prometheus text on GET /metrics.
 *
 * Hot-path counters are plain numeric fields (an increment is one property write). A snapshot is a
 * plain JSON-able object so snapshots of several workers can be summed into one scrape
 * (see mergeSnapshots). Gauges sum too (connections of a node = sum over its workers), except
 * those marked `max`, which take the largest value.
 */
import { REJECT_REASONS, type RejectReason } from "../../shared/codes.ts";

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
export type MetricsSnapshot = Family[];

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
  tickSecondsSum = 0;
  tickSecondsMax = 0;
  tickLagSecondsMax = 0;
  storeFlushes = 0;
  storeFlushErrors = 0;
  storeFlushSecondsSum = 0;
  storeSkippedTicks = 0;
  httpRequests = 0;
  httpErrors = 0;
  /** GET /api/shows/:show answered without `durable` because the record failed or was slow. */
  durableTotalsUnavailable = 0;
  /** Admin changes refused with 409 conflict: another change was saved from the same show version first. */
  adminConflicts = 0;
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
    this.tickSecondsSum += seconds;
    if (seconds > this.tickSecondsMax) this.tickSecondsMax = seconds;
    if (lagSeconds > this.tickLagSecondsMax) this.tickLagSecondsMax = lagSeconds;
  }

  snapshot(): MetricsSnapshot {
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
      c("buzzcast_slow_consumers_closed_total", "Connections closed for staying over the backpressure limit.", this.slowConsumersClosed),
      c("buzzcast_ticks_total", "Ticks run.", this.ticks),
      c(
        "buzzcast_ticks_from_message_path_total",
        "Ticks run by the due-check on the message path (timer starved by load).",
        this.ticksFromMessagePath,
      ),
      c("buzzcast_tick_duration_seconds_sum", "Total time spent in ticks.", this.tickSecondsSum),
      g("buzzcast_tick_duration_seconds_max", "Longest tick since start.", this.tickSecondsMax, "max"),
      g("buzzcast_tick_lag_seconds_max", "Largest delay of a tick past its due time since start.", this.tickLagSecondsMax, "max"),
      c("buzzcast_store_flushes_total", "Tick flushes into the store.", this.storeFlushes),
      c("buzzcast_store_flush_errors_total", "Tick flushes that failed (deltas retained for the next tick).", this.storeFlushErrors),
      c("buzzcast_store_flush_seconds_sum", "Total time spent in store flushes.", this.storeFlushSecondsSum),
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
}

/** Sum snapshots from several workers into one (gauges marked `max` take the maximum). */
export function mergeSnapshots(snaps: readonly MetricsSnapshot[]): MetricsSnapshot {
  const out = new Map<string, Family>();
  for (const snap of snaps) {
    for (const fam of snap) {
      const have = out.get(fam.name);
      if (!have) {
        out.set(fam.name, { ...fam, samples: fam.samples.map((s) => ({ ...s })) });
        continue;
      }
      for (const s of fam.samples) {
        const key = labelKey(s.labels);
        const t = have.samples.find((x) => labelKey(x.labels) === key);
        if (!t) have.samples.push({ ...s });
        else t.value = fam.merge === "max" ? Math.max(t.value, s.value) : t.value + s.value;
      }
    }
  }
  return [...out.values()];
}

function labelKey(labels: Record<string, string> | undefined): string {
  return labels
    ? Object.entries(labels)
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
    : "";
}

export function renderPrometheus(snap: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const f of snap) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.kind}`);
    for (const s of f.samples) {
      const labels = s.labels
        ? `{${Object.entries(s.labels)
            .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
            .join(",")}}`
        : "";
      lines.push(`${f.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return lines.join("\n") + "\n";
}
