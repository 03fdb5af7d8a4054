/**
 * End-to-end smoke run of the bench: a real server (test harness), the real CLI with its generator
 * processes, a bare-uWS baseline, and the JSON and HTML reports. Checks the report's fixed fields
 * and that what the report says was counted is what the server's own totals say. No timing
 * thresholds: only counts and the presence of the figures.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ShowState } from "../shared/protocol.ts";
import { startServer } from "./harness/server.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function totals(url: string): Promise<number> {
  const state = ShowState.parse(await (await fetch(`${url}/api/shows/demo`)).json());
  return Object.values(state.totals).reduce((a, b) => a + b, 0);
}

test("ingest smoke run: report fields present, counted buzzes equal the server's totals", { timeout: 180_000 }, async () => {
  const server = await startServer({ BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0", WORKERS: "1" });
  try {
    const before = await totals(server.url);
    const json = join(dir, "ingest.json");
    const html = join(dir, "ingest.html");
    const cli = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/cli.ts",
        "ingest",
        "--url",
        server.wsUrl,
        "--server-pid",
        String(server.proc.pid),
        "--connections",
        "300",
        "--observers",
        "50",
        "--duration",
        "2",
        "--mode",
        "paced",
        "--rate",
        "3000",
        "--baseline",
        "uws",
        "--json",
        json,
        "--html",
        html,
        "--quiet",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    cli.stdout.on("data", (b: Buffer) => (output += b.toString()));
    cli.stderr.on("data", (b: Buffer) => (output += b.toString()));
    const [code] = (await once(cli, "exit")) as [number | null];
    assert.equal(code, 0, output);

    const report = JSON.parse(readFileSync(json, "utf8")) as Record<string, unknown> & {
      latencyMs: Record<string, unknown>;
      baseline: Record<string, Record<string, unknown>>;
      targets: unknown[];
      timeline: unknown[];
    };
    const numeric = [
      "connections",
      "durationSec",
      "tickHz",
      "buzzesSent",
      "buzzesCounted",
      "buzzesPerSec",
      "deliveriesPerSec",
      "framesMissed",
      "serverRssBytes",
      "serverCpuPct",
      "generatorCpuPct",
    ];
    for (const k of numeric) assert.equal(typeof report[k], "number", `${k} is a number`);
    for (const k of ["p50", "p90", "p99", "max"]) assert.equal(typeof report.latencyMs[k], "number", `latencyMs.${k}`);
    assert.equal(report.scenario, "ingest");
    assert.equal(report.mode, "paced");
    assert.equal(report.connections, 350);
    assert.equal(report.senders, 300);
    assert.equal(report.observers, 50);
    assert.ok((report.buzzesSent as number) > 0);

    // What the report counted is what the server counted, and every buzz sent was counted and acknowledged.
    const after = await totals(server.url);
    assert.equal(report.buzzesCounted, after - before);
    assert.equal(report.buzzesCounted, report.buzzesSent);
    assert.equal(report.ackCounted, report.buzzesSent);

    const uws = report.baseline.uws!;
    for (const k of numeric) assert.equal(typeof uws[k], "number", `baseline.uws.${k}`);
    assert.equal(uws.buzzesCounted, uws.buzzesSent);
    assert.ok(report.targets.length > 0);
    assert.ok(report.timeline.length > 0);
    const page = readFileSync(html, "utf8");
    assert.match(page, /<svg/);
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
