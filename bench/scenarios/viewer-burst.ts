/**
 * Scenario viewer-burst: an audience of viewers with distinct signed tokens
 * spread over K nodes on a real memcached and MariaDB; for each act, voting opens and every viewer
 * buzzes once within `--spread-ms` (1 s). Runs, each on a fresh deployment:
 *   tokens+audit : VIEWER_TOKEN_SECRET set, MYSQL_URL set (the audit log on)
 *   anon+audit   : no token check (anonymous viewer ids), for the connect-rate comparison
 *   tokens-noaudit: MYSQL_URL unset (no record, no audit log), for counted buzzes/s without it
 * Figures: hello/connect rate (welcomes/s), counted buzzes/s, persist lag (ack -> audit row
 * committed, p50/p99: the k-th counted ack is matched with the moment the record held k rows,
 * polled every 100 ms through GET /api/shows/:show/audit), audit rows/s, memcached operations per
 * counted buzz (memcached's own stats), and the exactly-once checks (each viewer's ack grew by
 * one; live == record == audit == viewers).
 *
 *   npm run bench -- viewer-burst [--viewers 20000] [--nodes 3] [--acts 2] [--spread-ms 1000]
 *                                 [--runs tokens+audit,anon+audit,tokens-noaudit] [--persist-ms 1000]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startCluster, type Cluster } from "../../test/harness/cluster.ts";
import { admin } from "../../test/harness/server.ts";
import { ForkedWorkers } from "../run/forked-workers.ts";
import { burstTargets, persistLag, quantile, type ActFigures, type RunResult } from "./viewer-burst-figures.ts";
import type { BurstCommand, BuzzReply, ConnectReply } from "./viewer-burst-worker.ts";

const RUNS = ["tokens+audit", "anon+audit", "tokens-noaudit"] as const;
/** How often the persist-lag probe reads the audit endpoint (each lag is over-estimated by up to this). */
const POLL_MS = 100;
type RunName = (typeof RUNS)[number];
const SECRET = "viewer-burst-bench-secret-0123456789abcdef";
const SHOW = "burst";
const PER_WORKER = 10_000;
const MEMCACHED_OPS = [
  "cmd_get",
  "cmd_set",
  "cmd_touch",
  "incr_hits",
  "incr_misses",
  "decr_hits",
  "decr_misses",
  "delete_hits",
  "delete_misses",
  "cas_hits",
  "cas_misses",
];

interface Opts {
  viewers: number;
  nodes: number;
  acts: number;
  spreadMs: number;
  persistMs: number;
  runs: RunName[];
}

function parse(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv,
    options: {
      viewers: { type: "string", default: "20000" },
      nodes: { type: "string", default: "3" },
      acts: { type: "string", default: "2" },
      "spread-ms": { type: "string", default: "1000" },
      "persist-ms": { type: "string", default: "1000" },
      runs: { type: "string", default: RUNS.join(",") },
    },
  });
  const runs = values.runs.split(",").map((r) => r.trim());
  for (const r of runs) if (!(RUNS as readonly string[]).includes(r)) throw new Error(`--runs: ${r} is not one of ${RUNS.join(", ")}`);
  return {
    viewers: Number(values.viewers),
    nodes: Number(values.nodes),
    acts: Number(values.acts),
    spreadMs: Number(values["spread-ms"]),
    persistMs: Number(values["persist-ms"]),
    runs: runs as RunName[],
  };
}

async function memcachedOps(c: Cluster): Promise<number> {
  const s = await c.memcached.stats();
  return MEMCACHED_OPS.reduce((n, k) => n + Number(s[k] ?? 0), 0);
}

type Audit = Record<string, { live: number | null; record: number; logged: number; match: boolean }>;
const audit = async (c: Cluster): Promise<Audit> => ((await admin(c.nodes[0]!, "GET", `/api/shows/${SHOW}/audit`)) as { acts: Audit }).acts;

/** Polls the audit log's row count for `act` until it reaches `want`; returns [ms, rows] samples. */
async function pollCommits(c: Cluster, act: string, want: number, until: number): Promise<Array<[number, number]>> {
  const samples: Array<[number, number]> = [];
  while (Date.now() < until) {
    const logged = (await audit(c))[act]?.logged ?? 0;
    samples.push([Date.now(), logged]);
    if (logged >= want) break;
    // 10 Hz: each poll sums the audit and count rows in MariaDB; polling faster loads the record
    // under test.
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return samples;
}

async function runOne(name: RunName, o: Opts): Promise<RunResult> {
  const tokens = name !== "anon+audit";
  const record = name !== "tokens-noaudit";
  process.stderr.write(`\n== ${name}: ${o.viewers} viewers on ${o.nodes} nodes, ${o.acts} acts\n`);
  const cluster = await startCluster(o.nodes, {
    TICK_MS: "100",
    PERSIST_INTERVAL_MS: String(o.persistMs),
    WORKERS: "1",
    MAX_CONNECT_RATE: "0", // the hello/connect rate is measured here, not admission control
    ...(tokens ? { VIEWER_TOKEN_SECRET: SECRET } : {}),
    ...(record ? {} : { MYSQL_URL: "" }),
  });
  const workers = new ForkedWorkers<BurstCommand>(new URL("./viewer-burst-worker.ts", import.meta.url), Math.ceil(o.viewers / PER_WORKER));
  try {
    const acts = Array.from({ length: o.acts }, (_, i) => `a${i + 1}`);
    await admin(cluster.nodes[0]!, "PUT", `/api/shows/${SHOW}`, { title: SHOW, acts: acts.map((id) => ({ id, name: id })) });
    const ports = cluster.nodes.map((n) => n.port);
    const share = Math.ceil(o.viewers / workers.procs.length);
    await workers.all((w) => ({
      type: "plan",
      worker: w,
      from: w * share,
      to: Math.min(o.viewers, (w + 1) * share),
      ports,
      show: SHOW,
      secret: tokens ? SECRET : null,
      inFlight: 256,
    }));
    const conn = await workers.all<ConnectReply>(() => ({ type: "connect" }));
    const welcomed = conn.reduce((n, r) => n + r.welcomed, 0);
    const connectSec = (Math.max(...conn.map((r) => r.lastWelcomeMs)) - Math.min(...conn.map((r) => r.startMs))) / 1000;
    process.stderr.write(
      `   connected ${welcomed}/${o.viewers} in ${connectSec.toFixed(2)} s; failures ${JSON.stringify(conn.map((r) => r.closes))}\n`,
    );
    const opsBefore = await memcachedOps(cluster);
    const perAct: ActFigures[] = [];
    for (const act of acts) {
      await admin(cluster.nodes[0]!, "POST", `/api/shows/${SHOW}/stage`, { act, open: true });
      const atMs = Date.now() + 200; // every node has seen the stage change (one to two ticks)
      const commits = record ? pollCommits(cluster, act, welcomed, atMs + o.spreadMs + 60_000) : Promise.resolve([]);
      const replies = await workers.all<BuzzReply>(() => ({ type: "buzz", act, atMs, spreadMs: o.spreadMs }));
      const samples = await commits;
      const ackTimes = replies.flatMap((r) => r.ackTimes);
      const counted = replies.reduce((n, r) => n + r.countedOnce, 0);
      const first = Math.min(...replies.map((r) => r.firstSendMs));
      const last = Math.max(...replies.map((r) => r.lastAckMs));
      const lag = record ? persistLag(ackTimes, samples) : null;
      const rowsPerSec = record && samples.length > 1 ? rowsRate(samples) : null;
      perAct.push({
        act,
        sent: replies.reduce((n, r) => n + r.sent, 0),
        counted,
        countedTwice: replies.reduce((n, r) => n + r.countedTwice, 0),
        rejected: Object.assign({}, ...replies.map((r) => r.rejected)) as Record<string, number>,
        countedPerSec: Math.round(counted / ((last - first) / 1000)),
        ackP99Ms: quantile(
          ackTimes.map((t) => t - atMs),
          0.99,
        ),
        persistLagP50Ms: lag?.p50 ?? null,
        persistLagP99Ms: lag?.p99 ?? null,
        auditRowsPerSec: rowsPerSec,
      });
      process.stderr.write(`   ${act}: ${JSON.stringify(perAct.at(-1))}\n`);
      await admin(cluster.nodes[0]!, "POST", `/api/shows/${SHOW}/stage`, { act, open: false });
    }
    const countedTotal = perAct.reduce((n, a) => n + a.counted, 0);
    const opsPerCounted = (await memcachedOps(cluster)) - opsBefore;
    let final: Audit | null = null;
    if (record) {
      const deadline = Date.now() + 2 * 100 + 2 * o.persistMs + 10_000;
      do {
        final = await audit(cluster);
        if (acts.every((a) => final![a]?.match === true && final![a]?.logged === welcomed)) break;
        await new Promise((r) => setTimeout(r, 200));
      } while (Date.now() < deadline);
    }
    return {
      name,
      tokens,
      record,
      viewers: o.viewers,
      nodes: o.nodes,
      welcomed,
      connectPerSec: Math.round(welcomed / connectSec),
      memcachedOpsPerCounted: countedTotal > 0 ? Number((opsPerCounted / countedTotal).toFixed(3)) : null,
      acts: perAct,
      audit: final,
    };
  } finally {
    workers.close({ type: "close" });
    await cluster.stop();
  }
}

function rowsRate(samples: Array<[number, number]>): number {
  const firstRow = samples.find(([, n]) => n > 0) ?? samples[0]!;
  const [tEnd, nEnd] = samples.at(-1)!;
  return tEnd > firstRow[0] ? Math.round((nEnd - firstRow[1]) / ((tEnd - firstRow[0]) / 1000)) : nEnd;
}

export async function runViewerBurst(argv: string[]): Promise<void> {
  const o = parse(argv);
  const results: RunResult[] = [];
  for (const r of o.runs) results.push(await runOne(r, o));
  const targets = burstTargets(results, o.persistMs);
  const out = { scenario: "viewer-burst", at: new Date().toISOString(), options: o, results, targets };
  mkdirSync(new URL("../reports/", import.meta.url), { recursive: true });
  const file = new URL(`../reports/viewer-burst-${out.at.replace(/[:.]/g, "-")}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(out, null, 2));
  for (const r of results)
    process.stdout.write(
      `${r.name.padEnd(15)} connect ${r.connectPerSec}/s, memcached ops/counted ${r.memcachedOpsPerCounted}; ` +
        r.acts
          .map(
            (a) =>
              `${a.act}: ${a.counted} counted (${a.countedPerSec}/s), lag p99 ${a.persistLagP99Ms ?? "-"} ms, rows ${a.auditRowsPerSec ?? "-"}/s`,
          )
          .join("; ") +
        "\n",
    );
  for (const t of targets) process.stdout.write(`${t.pass ? "MET " : "MISS"} ${t.what}: ${t.measured}\n`);
  process.stdout.write(`report: ${file.pathname}\n`);
}

/** Runs the scenario and exits the process (0 when it completed, whatever the figures; 1 if it could not run). */
export async function runViewerBurstCli(argv: string[]): Promise<never> {
  try {
    await runViewerBurst(argv);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`viewer-burst failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}
