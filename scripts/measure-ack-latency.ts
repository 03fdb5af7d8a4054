/**
 * What the write-ahead journal costs a node on real memcached and MariaDB: `--viewers` connections
 * on one node (BUZZ_POLICY=unlimited, no rate limit) buzz at `--rate` buzzes/s in total for
 * `--seconds`; reports buzz -> ack latency (p50/p99/max, each buzz matched with the ack that first
 * covers its seq), MySQL commits per second (the server's Com_commit), and the journal's syncs
 * (count, mean and longest fdatasync, from /metrics). Extra server env as KEY=VALUE arguments
 * (e.g. JOURNAL_FSYNC=0). One JSON line on stdout.
 *
 *   npx tsx scripts/measure-ack-latency.ts [--viewers 200] [--rate 2000] [--seconds 10] [KEY=VALUE ...]
 */
import { parseArgs } from "node:util";
import { openShow, startCluster } from "../test/harness/cluster.ts";
import { TestViewer } from "../test/harness/ws-client.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    viewers: { type: "string", default: "200" },
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
  },
});
const viewers = Number(values.viewers);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const env = Object.fromEntries(positionals.map((kv) => kv.split("=", 2) as [string, string]));

const cluster = await startCluster(1, {
  BUZZ_POLICY: "unlimited",
  RATE_LIMIT_PER_SEC: "0",
  TICK_MS: "100",
  PERSIST_INTERVAL_MS: "1000",
  ...env,
});
try {
  const node = cluster.nodes[0]!;
  await openShow(node, "lat", ["a"]);
  const vs = await Promise.all(Array.from({ length: viewers }, () => TestViewer.join(node.wsUrl, "lat")));
  await Promise.all(vs.map((v) => v.votingOpen("a")));
  const sentAt = vs.map(() => new Map<number, number>());
  const latencies: number[] = [];
  vs.forEach((v, i) =>
    v.ws.on("message", () => {
      const seq = v.lastAck?.seq;
      if (seq === undefined) return;
      const now = performance.now();
      for (const [s, t] of sentAt[i]!) {
        if (s > seq) break;
        latencies.push(now - t);
        sentAt[i]!.delete(s);
      }
    }),
  );
  const commits = async (): Promise<number> => {
    const rows = await cluster.mariadb.query<Array<{ Value: string }>>("SHOW GLOBAL STATUS LIKE 'Com_commit'");
    return Number(rows[0]?.Value ?? 0);
  };
  const c0 = await commits();
  const t0 = performance.now();
  const perTick = rate / 100; // buzzes per 10 ms step
  let carry = 0;
  let k = 0;
  while (performance.now() - t0 < seconds * 1000) {
    carry += perTick;
    for (; carry >= 1; carry--, k++) {
      const i = k % vs.length;
      const v = vs[i]!;
      sentAt[i]!.set(v.buzz("a"), performance.now());
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = await commits();
  await Promise.all(vs.map((v) => v.until(() => v.lastAck?.seq === v.sentSeq, "last ack", 30_000)));
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  const metric = (name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(metrics);
    return m ? Number(m[1]) : null;
  };
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN) * 10) / 10;
  const syncs = metric("buzzcast_journal_syncs_total");
  const syncSeconds = metric("buzzcast_journal_sync_seconds_total");
  console.log(
    JSON.stringify({
      env,
      viewers,
      rate,
      seconds: Math.round(elapsed * 10) / 10,
      buzzes: k,
      acked: latencies.length,
      ackMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
      mysqlCommitsPerSec: Math.round(((c1 - c0) / elapsed) * 10) / 10,
      journal:
        syncs === null
          ? null
          : {
              syncs,
              meanSyncMs: syncs > 0 ? Math.round(((syncSeconds ?? 0) / syncs) * 1e4) / 10 : null,
              maxSyncMs: Math.round((metric("buzzcast_journal_sync_seconds_max") ?? 0) * 1e4) / 10,
              bytes: metric("buzzcast_journal_bytes_total"),
            },
    }),
  );
  for (const v of vs) v.close();
} finally {
  await cluster.stop();
}
