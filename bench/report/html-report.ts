/** The self-contained HTML report: summary tables and inline SVG plots (no scripts, no network). */
import type { Sample } from "../run/sampler.ts";
import type { BenchReport, RunFigures } from "./report-types.ts";
import { barChart, esc, lineChart, shortNumber, type Series } from "./svg-chart.ts";

const COLORS = { ours: "#1f5fbf", uws: "#2e8b3d", ws: "#c07a00", socketio: "#a8328c", extra: "#777" };
const FIXED: Array<keyof RunFigures> = [
  "scenario",
  "mode",
  "connections",
  "durationSec",
  "tickHz",
  "buzzesSent",
  "buzzesCounted",
  "buzzesPerSec",
  "deliveriesPerSec",
  "latencyMs",
  "framesMissed",
  "serverRssBytes",
  "serverCpuPct",
  "generatorCpuPct",
  "serverCpuUsPerBuzz",
  "buzzesPerServerCoreSec",
  "serverCpuUsPerDelivery",
  "serverBytesPerConnection",
  "generatorBytesPerConnection",
  "connectRatePerSec",
  "countsExact",
  "limitedBy",
];

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return esc(Number.isInteger(v) ? v.toLocaleString("en-US") : String(Math.round(v * 1000) / 1000));
  if (typeof v === "object")
    return esc(
      Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${k} ${cell(x)}`)
        .join(", "),
    );
  return esc(typeof v === "string" ? v : (JSON.stringify(v) ?? ""));
}

function runs(r: BenchReport): Array<{ name: string; color: string; fig: RunFigures }> {
  const out = [{ name: r.server.kind, color: COLORS.ours, fig: r as RunFigures }];
  for (const [name, fig] of Object.entries(r.baseline ?? {})) {
    if (fig) out.push({ name: `${name} (baseline)`, color: COLORS[name as keyof typeof COLORS] ?? COLORS.extra, fig });
  }
  return out;
}

function series(rs: ReturnType<typeof runs>, pick: (s: Sample) => number | null, suffix = ""): Series[] {
  return rs.map((x) => ({
    name: `${x.name}${suffix}`,
    color: x.color,
    points: x.fig.timeline.map((s) => [s.t, pick(s)] as [number, number | null]),
  }));
}

export function renderHtml(r: BenchReport): string {
  const rs = runs(r);
  const head = rs.map((x) => `<th>${esc(x.name)}</th>`).join("");
  const summary = FIXED.map((k) => `<tr><th>${esc(k)}</th>${rs.map((x) => `<td>${cell(x.fig[k])}</td>`).join("")}</tr>`).join("");
  const targets = r.targets
    .map(
      (t) =>
        `<tr class="${t.pass === null ? "" : t.pass ? "pass" : "fail"}"><td>${esc(t.what)}</td><td>${esc(t.target)}</td><td>${esc(t.measured)}</td><td>${t.ratio ?? ""}</td><td>${t.pass === null ? "-" : t.pass ? "yes" : "NO"}</td></tr>`,
    )
    .join("");
  const charts = [
    lineChart(
      "Buzzes per second (sent by the generator)",
      "buzzes/s",
      series(rs, (s) => s.buzzesSentPerSec),
    ),
    lineChart(
      "Buzzes per second (counted, as seen in totals frames)",
      "buzzes/s",
      series(rs, (s) => s.buzzesCountedPerSec),
    ),
    lineChart(
      "Totals frames delivered per second (all connections)",
      "frames/s",
      series(rs, (s) => s.deliveriesPerSec),
    ),
    lineChart(
      "Tick rate seen by clients",
      "Hz",
      series(rs, (s) => s.tickHz),
    ),
    lineChart("Tick-to-receipt latency p99 per second", "ms", [
      ...series(rs, (s) => s.p99Ms, " p99"),
      ...series(rs, (s) => s.p50Ms, " p50").map((x) => ({ ...x, color: `${x.color}88` })),
    ]),
    barChart(
      `Latency percentiles (${r.latencyKind})`,
      "ms",
      (["p50", "p90", "p99", "max"] as const).map((p) => ({
        label: p,
        values: rs.map((x) => ({ name: x.name, color: x.color, value: x.fig.latencyMs[p] })),
      })),
    ),
    lineChart(
      "Connections ready",
      "connections",
      series(rs, (s) => s.connections),
    ),
    lineChart(
      "Server CPU (percent of one core)",
      "%",
      series(rs, (s) => s.serverCpuPct),
    ),
    lineChart(
      "Generator CPU (all generator processes, percent of one core)",
      "%",
      series(rs, (s) => s.generatorCpuPct),
    ),
    lineChart(
      "Whole machine CPU (2 cores = 200%)",
      "%",
      series(rs, (s) => s.machineCpuPct),
    ),
    lineChart(
      "Server memory (RSS)",
      "MB",
      series(rs, (s) => (s.serverRssBytes === null ? null : s.serverRssBytes / 2 ** 20)),
    ),
    lineChart(
      "Generator memory (RSS, all processes)",
      "MB",
      series(rs, (s) => s.generatorRssBytes / 2 ** 20),
    ),
  ];
  const notes = rs.flatMap((x) => x.fig.notes.map((n) => `<li><b>${esc(x.name)}</b>: ${esc(n)}</li>`)).join("");
  const machine = Object.entries(r.machine)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${cell(v)}</td></tr>`)
    .join("");
  const failures = rs
    .map(
      (x) =>
        `<tr><th>${esc(x.name)}</th><td>${cell(x.fig.failureReasons)}</td><td>${x.fig.connectionsFailed}</td><td>${x.fig.droppedAfterReady}</td><td>${cell(x.fig.connectMs)}</td></tr>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>buzzcast bench: ${esc(r.scenario)} ${esc(r.mode ?? "")}</title>
<style>
body{font-family:sans-serif;margin:24px;max-width:1340px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f4f4f4}tr.pass td:last-child{color:#2e7d32;font-weight:bold}tr.fail td:last-child{color:#c62828;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee;background:#fff}code{background:#f4f4f4;padding:2px 4px}
</style></head><body>
<h1>buzzcast bench: ${esc(r.scenario)}${r.mode ? ` (${esc(r.mode)})` : ""}</h1>
<p>Started ${esc(r.startedAt)}. Command: <code>${esc(r.command)}</code></p>
<p>CPU percentages are of one core (this machine has ${esc(String(r.machine.cores ?? "?"))}). Latency: ${esc(r.latencyKind)}. Limited by: <b>${esc(r.limitedBy)}</b>.
Other processes on the machine used ${r.otherCpuPct ?? "?"}% CPU during the measured phase.</p>
<h2>Targets (../shared/GOALS.md)</h2>
<table><tr><th>what</th><th>target</th><th>measured</th><th>ratio</th><th>met</th></tr>${targets}</table>
<h2>Summary</h2>
<table><tr><th></th>${head}</tr>${summary}</table>
<h2>Plots</h2><div class="charts">${charts.join("\n")}</div>
<h2>Connections</h2>
<table><tr><th></th><th>failure reasons</th><th>failed</th><th>dropped after ready</th><th>connect+hello ms</th></tr>${failures}</table>
${notes ? `<h2>Notes</h2><ul>${notes}</ul>` : ""}
<h2>Machine</h2><table>${machine}</table>
<p style="color:#777;font-size:12px">Numbers: ${esc(shortNumber(r.buzzesCounted))} buzzes counted by the server, ${esc(shortNumber(r.buzzesSent))} sent.</p>
</body></html>
`;
}
