/**
 * `npm run bench -- <scenario> [options]` (see bench/README.md and --help). Runs the scenario against
 * buzzcast (started here with --start, or at --url), then against each --baseline server started
 * here, and writes one JSON and one HTML report. Exit code: 0 when the run completed (whatever the
 * figures), 1 when it could not run, 2 on a usage error.
 */
import { parseOptions, UsageError, type BenchOptions } from "./run/options.ts";
import { type BaselineKind } from "./run/server-process.ts";
import { externalSystem, startSystem, type SystemUnderTest } from "./run/system-under-test.ts";
import { machineInfo } from "./report/machine.ts";
import type { BenchReport, RunFigures } from "./report/report-types.ts";
import { buildReport, reportPaths, writeReport } from "./report/write-report.ts";
import { runScenario } from "./scenarios/run-scenario.ts";
import { bigShowEnv } from "./scenarios/seed.ts";
import { sleep } from "./scenarios/session.ts";

async function withSystem<T>(sut: SystemUnderTest, fn: (sut: SystemUnderTest) => Promise<T>): Promise<T> {
  try {
    return await fn(sut);
  } finally {
    await sut.stop();
  }
}

async function main(opts: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  if (Number(machine.loadAvg1AtStart) > 0.5) {
    process.stderr.write(
      `note: load average is ${machine.loadAvg1AtStart} before the run: other work on this machine will skew the figures\n`,
    );
  }
  const env = { TICK_MS: String(opts.tickMs), ...opts.serverEnv };
  const primary = opts.start ? await startSystem("buzzcast", opts.nodes, env) : externalSystem(opts.urls, opts.serverPid, opts.adminToken);
  const ours = await withSystem(primary, (sut) => runScenario(opts, sut, `${opts.scenario} buzzcast ${opts.protocols[0]!}`));
  // The other protocols of --protocol, each on a fresh server (a run leaves its totals behind).
  const protocolRuns: BenchReport["protocolRuns"] = {};
  for (const protocol of opts.protocols.slice(1)) {
    await sleep(2000);
    const sut = await startSystem("buzzcast", opts.nodes, env);
    protocolRuns[protocol] = await withSystem(sut, (s) =>
      runScenario({ ...opts, protocols: [protocol] }, s, `${opts.scenario} buzzcast ${protocol}`),
    );
  }
  const baseline: Partial<Record<BaselineKind, RunFigures>> = {};
  for (const kind of opts.baselines) {
    await sleep(2000); // let the previous run's sockets and CPU settle
    try {
      const sut = await startSystem(kind, opts.nodes, { TICK_MS: String(opts.tickMs), ...bigShowEnv(opts) });
      baseline[kind] = await withSystem(sut, (s) => runScenario(opts, s, `${opts.scenario} ${kind}`));
    } catch (err) {
      // A baseline that cannot complete the scenario is a finding, not a reason to lose the run.
      const msg = `baseline ${kind} did not complete: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
      ours.notes.push(msg);
      process.stderr.write(`\nnote: ${msg}\n`);
    }
  }
  const report: BenchReport = buildReport(opts, ours, baseline, machine, startedAt, protocolRuns);
  const paths = reportPaths(opts, startedAt);
  writeReport(report, paths);
  printSummary(report);
  process.stdout.write(`report: ${paths.json}\n        ${paths.html}\n`);
}

function printSummary(r: BenchReport): void {
  const rows: Array<[string, RunFigures]> = [
    [`${r.server.kind} ${r.protocol}`, r],
    ...Object.entries(r.protocolRuns ?? {}).map(([p, f]): [string, RunFigures] => [`buzzcast ${p}`, f]),
    ...Object.entries(r.baseline ?? {}).filter((e): e is [string, RunFigures] => e[1] !== undefined),
  ];
  const cols = [
    "connections",
    "buzzesPerSec",
    "buzzesCounted",
    "deliveriesPerSec",
    "tickHz",
    "p99Ms",
    "serverCpuPct",
    "generatorCpuPct",
    "bytesPerTotalsDelivery",
    "egressBytesPerViewerSec",
    "limitedBy",
  ];
  const lines = [["", ...cols].join("\t")];
  for (const [name, f] of rows) {
    lines.push(
      [
        name,
        f.connections,
        f.buzzesPerSec,
        f.buzzesCounted,
        f.deliveriesPerSec,
        f.tickHz,
        f.latencyMs.p99,
        f.serverCpuPct ?? "?",
        f.generatorCpuPct,
        f.bytesPerTotalsDelivery ?? "-",
        f.egressBytesPerViewerSec ?? "-",
        f.limitedBy,
      ].join("\t"),
    );
  }
  process.stdout.write(`\n${lines.join("\n")}\n\n`);
  for (const t of r.targets)
    process.stdout.write(
      `${t.pass === null ? " -  " : t.pass ? "MET " : "MISS"} ${t.what}: ${t.measured} (target ${t.target}${t.ratio !== null ? `, ratio ${t.ratio}` : ""})\n`,
    );
  for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
}

// Ctrl-C or a kill: exit through process.exit so the 'exit' hooks SIGKILL every server started here
// (generator workers exit by themselves when their IPC channel closes).
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => process.exit(130));

// viewer-burst starts its own memcached, MariaDB and nodes and writes its own report.
if (process.argv[2] === "viewer-burst") await import("./scenarios/viewer-burst.ts").then((m) => m.runViewerBurstCli(process.argv.slice(3)));
// storm starts its own nodes, drains or kills one, and writes its own report.
if (process.argv[2] === "storm") await import("./scenarios/storm.ts").then((m) => m.runStormCli(process.argv.slice(3)));

let opts: BenchOptions;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err instanceof Error && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
main(opts).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
