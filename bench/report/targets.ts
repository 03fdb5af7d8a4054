/**
 * The targets of ../shared/GOALS.md (ratios to baselines measured in the same run, or counts),
 * evaluated against a report. A row without the baseline it needs says so instead of guessing.
 */
import type { BaselineKind } from "../run/server-process.ts";
import type { RunFigures, TargetRow } from "./report-types.ts";

type Baselines = Partial<Record<BaselineKind, RunFigures>>;

/** Tsung's best figure per core from GOALS.md (25-90k msgs/s using both cores). */
export const TSUNG_MSGS_PER_CORE = 45_000;

const fmt = (x: number, digits = 2) => (Number.isInteger(x) ? x.toLocaleString("en-US") : x.toFixed(digits));
const r2 = (x: number) => Math.round(x * 100) / 100;

function row(what: string, target: string, measured: string, ratio: number | null, pass: boolean | null): TargetRow {
  return { what, target, measured, ratio: ratio === null ? null : r2(ratio), pass };
}

function vs(ours: number | null | undefined, base: number | null | undefined): number | null {
  return ours == null || base == null || base === 0 ? null : ours / base;
}

export function evaluateTargets(r: RunFigures, b: Baselines, tickMs: number): TargetRow[] {
  const rows: TargetRow[] = [];
  const hz = 1000 / tickMs;
  const uws = b.uws;
  const need = (name: string) => `run with --baseline ${name}`;
  if (r.scenario === "ingest" && r.mode === "flood") {
    // Per core (buzzes per second of server CPU): buzzcast may run several worker threads.
    const ratio = vs(r.buzzesPerServerCoreSec, uws?.buzzesPerServerCoreSec);
    const perCore = (f: RunFigures) => `${fmt(f.buzzesPerServerCoreSec ?? 0)}/core-s (${fmt(f.buzzesPerSec)}/s)`;
    rows.push(
      row(
        "ingest, flood, per server core",
        ">= 0.75 x bare uWS",
        `${perCore(r)}${uws ? ` vs ${perCore(uws)}` : ` (${need("uws")})`}`,
        ratio,
        ratio === null ? null : ratio >= 0.75,
      ),
    );
    const tickRatio = r.tickHz / hz;
    rows.push(
      row(
        "tick under an ingest flood",
        `>= 90% of ${fmt(hz)} Hz seen by clients`,
        `${fmt(r.tickHz)} Hz${uws ? ` (bare uWS timer: ${fmt(uws.tickHz)} Hz)` : ""}`,
        tickRatio,
        tickRatio >= 0.9,
      ),
    );
    // Observers' totals frames: receipt time - the frame's ts (frames must arrive on time under a flood).
    const lateTicks = r.latencyMs.p99 / tickMs;
    rows.push(
      row(
        "totals receipt lateness under the flood (observers), p99",
        `<= 2 ticks (${fmt(2 * tickMs)} ms)`,
        `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms (${lateTicks.toFixed(1)} ticks)${uws ? `; bare uWS p99 ${uws.latencyMs.p99} ms` : ""}`,
        lateTicks / 2,
        lateTicks <= 2,
      ),
    );
  }
  if (r.scenario === "ingest" && r.mode === "paced") {
    const ratio = vs(r.serverCpuUsPerBuzz, uws?.serverCpuUsPerBuzz);
    rows.push(
      row(
        "ingest, paced",
        "server CPU per buzz <= 1.15 x bare uWS",
        `${r.serverCpuUsPerBuzz ?? "?"} us${uws ? ` vs ${uws.serverCpuUsPerBuzz ?? "?"} us` : ` (${need("uws")})`}`,
        ratio,
        ratio === null ? null : ratio <= 1.15,
      ),
    );
  }
  if (r.scenario === "fanout") {
    rows.push(
      row(
        `fan-out to ${fmt(r.connections)}: tick held`,
        `>= ${fmt(hz * 0.95)} Hz observed`,
        `${fmt(r.tickHz)} Hz`,
        r.tickHz / hz,
        r.tickHz >= hz * 0.95,
      ),
    );
    const p99 = vs(r.latencyMs.p99, uws?.latencyMs.p99);
    rows.push(
      row(
        "fan-out p99 tick-to-receipt",
        "<= 1.2 x bare uWS",
        `${r.latencyMs.p99} ms${uws ? ` vs ${uws.latencyMs.p99} ms` : ` (${need("uws")})`}`,
        p99,
        p99 === null ? null : p99 <= 1.2,
      ),
    );
    const cpu = vs(r.serverCpuUsPerDelivery, uws?.serverCpuUsPerDelivery);
    rows.push(
      row(
        "fan-out server CPU per delivery",
        "<= 1.2 x bare uWS",
        `${r.serverCpuUsPerDelivery ?? "?"} us${uws ? ` vs ${uws.serverCpuUsPerDelivery ?? "?"} us` : ` (${need("uws")})`}`,
        cpu,
        cpu === null ? null : cpu <= 1.2,
      ),
    );
    const api = r.httpApi;
    if (api) {
      const ok = api.answered === api.requests && api.maxMs !== null && api.maxMs <= 1000;
      rows.push(
        row(
          "HTTP API during the fan-out (GET /api/shows/:show)",
          "every answer within 1 s",
          `${api.answered} of ${api.requests} answered, p50 ${api.p50Ms ?? "?"} ms, max ${api.maxMs ?? "?"} ms`,
          api.maxMs === null ? null : api.maxMs / 1000,
          ok,
        ),
      );
    }
  }
  if (r.scenario === "connections") {
    // Meaningful with --connect-rate 0: both sides accept as fast as they can (upgrade + hello + welcome;
    // the bare uWS baseline answers hello with its welcome, its first frame).
    const rate = vs(r.connectRatePerSec, uws?.connectRatePerSec);
    rows.push(
      row(
        "connect rate incl. hello/welcome",
        ">= 0.8 x bare uWS accept + first frame, same run",
        `${fmt(r.connectRatePerSec ?? 0)}/s${uws ? ` vs ${fmt(uws.connectRatePerSec ?? 0)}/s` : ` (${need("uws")})`}`,
        rate,
        rate === null ? null : rate >= 0.8,
      ),
    );
    rows.push(
      row(
        "connections held",
        ">= 50,000 over several processes",
        `${fmt(r.connections)} on ${r.server.nodes} process(es)`,
        r.connections / 50_000,
        r.connections >= 50_000,
      ),
    );
    const kb = r.serverBytesPerConnection == null ? null : r.serverBytesPerConnection / 1024;
    rows.push(
      row(
        "server memory per idle connection",
        "<= 3 KB",
        kb === null
          ? "unknown (no server pid)"
          : `${kb.toFixed(2)} KB${uws?.serverBytesPerConnection != null ? ` (bare uWS ${(uws.serverBytesPerConnection / 1024).toFixed(2)} KB)` : ""}`,
        kb === null ? null : kb / 3,
        kb === null ? null : kb <= 3,
      ),
    );
  }
  if (r.scenario === "show") {
    const fan = uws?.latencyMs.p99;
    const budget = fan === undefined ? null : tickMs + fan;
    const ratio = vs(r.latencyMs.p99, budget);
    rows.push(
      row(
        "buzz -> visible to others, p99",
        "<= one tick + bare uWS fan-out p99 for that audience",
        `${r.latencyMs.p99} ms${budget !== null ? ` vs ${tickMs} + ${fan} ms` : ` (${need("uws")})`}`,
        ratio,
        ratio === null ? null : ratio <= 1,
      ),
    );
    if (r.countsExact !== undefined)
      rows.push(
        row("final totals exact", "== buzzes counted", r.countsExact ? "exact" : JSON.stringify(r.countCheck), null, r.countsExact),
      );
  }
  for (const name of ["ws", "socketio"] as const) {
    const base = b[name];
    if (!base) continue;
    const key =
      r.scenario === "ingest"
        ? r.mode === "paced"
          ? "serverCpuUsPerBuzz"
          : "buzzesPerSec"
        : r.scenario === "connections"
          ? "serverBytesPerConnection"
          : r.scenario === "fanout"
            ? "serverCpuUsPerDelivery"
            : null;
    if (key === null) continue;
    const ratio = vs(r[key], base[key]);
    rows.push(row(`vs ${name}: ${key}`, "(comparison)", `${r[key] ?? "?"} vs ${base[key] ?? "?"}`, ratio, null));
  }
  const genCoreSec = (r.generatorCpuPct / 100) * r.durationSec;
  const perCore = genCoreSec > 0 && r.buzzesSent > 0 ? r.buzzesSent / genCoreSec : null;
  rows.push(
    row(
      "load generator not the hidden bottleneck",
      "its CPU in every report; not saturated",
      `${r.generatorCpuPct}% CPU over ${r.generator.workers} process(es); limited by ${r.limitedBy}`,
      null,
      r.limitedBy === "unknown" ? null : r.limitedBy !== "generator",
    ),
  );
  if (perCore !== null && r.scenario === "ingest") {
    const ratio = perCore / TSUNG_MSGS_PER_CORE;
    rows.push(
      row(
        "generator vs Tsung, per core",
        `>= 10 x Tsung (${fmt(TSUNG_MSGS_PER_CORE)} msgs/s per core)`,
        `${fmt(Math.round(perCore))} buzzes per generator core-second (${r.mode ?? ""})`,
        ratio,
        ratio >= 10,
      ),
    );
  }
  return rows;
}
