/**
 * Prints a Markdown table of bench JSON reports, one row per report, our figure beside each
 * baseline's as a ratio: `npx tsx bench/report/markdown-summary.ts bench/reports/*.json`.
 * For the README's Performance section.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { BenchReport, RunFigures } from "./report-types.ts";

const n = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined ? "?" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The headline figure of a report, formatted, and its numeric value (for ratios). */
export function headline(f: RunFigures): { label: string; value: number | null; text: string } {
  switch (f.scenario) {
    case "ingest":
      return f.mode === "paced"
        ? {
            label: "server CPU per buzz",
            value: f.serverCpuUsPerBuzz ?? null,
            text: `${n(f.serverCpuUsPerBuzz, 2)} us/buzz at ${n(f.buzzesPerSec)}/s`,
          }
        : {
            label: "buzzes/s per server core",
            value: f.buzzesPerServerCoreSec ?? null,
            text: `${n(f.buzzesPerServerCoreSec)}/core-s (${n(f.buzzesPerSec)}/s), tick ${n(f.tickHz, 1)} Hz`,
          };
    case "fanout":
      return {
        label: "p99 tick-to-receipt",
        value: f.latencyMs.p99,
        text: `${n(f.tickHz, 1)} Hz, p99 ${n(f.latencyMs.p99, 1)} ms, ${n(f.serverCpuPct)}% CPU, ${n(f.serverCpuUsPerDelivery, 2)} us/delivery`,
      };
    case "connections":
      return {
        label: "server bytes per connection",
        value: f.serverBytesPerConnection ?? null,
        text: `${n(f.connections)} held, ${n((f.serverBytesPerConnection ?? 0) / 1024, 2)} KB/conn`,
      };
    default:
      return {
        label: "p99",
        value: f.latencyMs.p99,
        text: `${f.latencyKind} p99 ${n(f.latencyMs.p99, 1)} ms, p50 ${n(f.latencyMs.p50, 1)} ms${f.countsExact === undefined ? "" : f.countsExact ? ", totals exact" : ", totals NOT exact"}`,
      };
  }
}

export function markdownRow(r: BenchReport): string {
  const ours = headline(r);
  const base = (["uws", "ws", "socketio"] as const).map((k) => {
    const b = r.baseline?.[k];
    if (!b) return "-";
    const h = headline(b);
    const ratio = ours.value !== null && h.value ? ` (x${(ours.value / h.value).toFixed(2)})` : "";
    return `${h.text}${ratio}`;
  });
  const who = `${r.limitedBy}; gen ${n(r.generatorCpuPct)}%, other ${n(r.otherCpuPct)}%`;
  const command = r.command.replace(/ --(json|html|out) \S+| --quiet/g, "");
  return `| ${r.scenario}${r.mode && r.scenario === "ingest" ? ` ${r.mode}` : ""} | ${ours.text} | ${base.join(" | ")} | ${who} | \`${command}\` |`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = process.argv.slice(2).map((f) => markdownRow(JSON.parse(readFileSync(f, "utf8")) as BenchReport));
  process.stdout.write(
    "| scenario | buzzcast | bare uWS (ratio) | ws (ratio) | socket.io (ratio) | limited by | command |\n|---|---|---|---|---|---|---|\n" +
      `${rows.join("\n")}\n`,
  );
}
