/** Assembles the final report and writes it as JSON and HTML (default: bench/reports/, gitignored). */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { BenchOptions } from "../run/options.ts";
import { REPO_ROOT } from "../run/tsx-args.ts";
import { renderHtml } from "./html-report.ts";
import type { BenchReport, RunFigures } from "./report-types.ts";
import { byProtocol, protocolRows } from "./protocol-targets.ts";
import { evaluateTargets } from "./targets.ts";

export function buildReport(
  opts: BenchOptions,
  ours: RunFigures,
  baseline: BenchReport["baseline"],
  machine: Record<string, string | number>,
  startedAt: Date,
  protocolRuns: BenchReport["protocolRuns"] = {},
): BenchReport {
  const b = baseline ?? {};
  return {
    ...ours,
    ...(Object.keys(b).length > 0 ? { baseline: b } : {}),
    ...(Object.keys(protocolRuns).length > 0 ? { protocolRuns } : {}),
    targets: [...evaluateTargets(ours, b, opts.tickMs), ...protocolRows(byProtocol(ours, protocolRuns), b, opts)],
    machine,
    command: `npm run bench -- ${opts.argv.join(" ")}`,
    startedAt: startedAt.toISOString(),
    benchVersion: 1,
  };
}

export function reportPaths(opts: BenchOptions, startedAt: Date): { json: string; html: string } {
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const base = `${opts.scenario}${opts.scenario === "ingest" ? `-${opts.mode}` : ""}-${stamp}`;
  const dir = resolve(REPO_ROOT, opts.outDir);
  return {
    json: opts.json !== null ? resolve(opts.json) : join(dir, `${base}.json`),
    html: opts.html !== null ? resolve(opts.html) : join(dir, `${base}.html`),
  };
}

export function writeReport(report: BenchReport, paths: { json: string; html: string }): void {
  for (const p of [paths.json, paths.html]) mkdirSync(dirname(p), { recursive: true });
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(paths.html, renderHtml(report));
}
