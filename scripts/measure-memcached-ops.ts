/**
 * Measures memcached operations per counted buzz end to end: N nodes (argv[2], default 1) on a real
 * memcached and MariaDB started on loopback, one flooding client per node for 10 s, memcached's own
 * `stats` read before and after. Run: `npx tsx scripts/measure-memcached-ops.ts [nodes]`.
 */
import type { Socket } from "node:net";
import { startCluster } from "../test/harness/cluster.ts";
import { TestViewer } from "../test/harness/ws-client.ts";
import { encodeText } from "../bench/generator/ws-frame.ts";
const nodes = Number(process.argv[2] ?? 1);
const cluster = await startCluster(nodes, {
  BUZZ_POLICY: "unlimited",
  RATE_LIMIT_PER_SEC: "0",
  TICK_MS: "100",
  PERSIST_INTERVAL_MS: "1000",
});
const statKeys = ["cmd_get", "cmd_set", "cmd_touch", "incr_hits", "incr_misses", "delete_hits", "delete_misses", "cas_hits", "cas_misses"];
const ops = async () => {
  const s = await cluster.memcached.stats();
  return statKeys.reduce((n, k) => n + Number(s[k] ?? 0), 0);
};
const flooders = await Promise.all(cluster.nodes.map((n) => TestViewer.join(n.wsUrl, "demo")));
const before = await ops();
const t0 = Date.now();
let sent = 0;
const DURATION = 10_000;
await Promise.all(
  flooders.map(async (f) => {
    const sock = (f.ws as unknown as { _socket: Socket })._socket;
    let seq = 0;
    while (Date.now() - t0 < DURATION) {
      const parts: Buffer[] = [];
      for (let i = 0; i < 1000; i++) parts.push(encodeText(`{"type":"buzz","act":"act-1","seq":${++seq}}`));
      sent += 1000;
      if (!sock.write(Buffer.concat(parts))) await new Promise((r) => sock.once("drain", r));
      else await new Promise((r) => setImmediate(r));
    }
    await f.until(() => f.lastAck?.seq === seq, "acks", 60_000);
  }),
);
const secs = (Date.now() - t0) / 1000;
const metric = async (url: string, name: string) =>
  Number(new RegExp(`^${name} (\\d+)`, "m").exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
let batches = 0;
let rows = 0;
for (const n of cluster.nodes) {
  batches += await metric(n.url, "buzzcast_record_batches_total");
  rows += await metric(n.url, "buzzcast_record_rows_total");
}
const after = await ops();
const counted = flooders.reduce((n, f) => n + (f.lastAck?.counted ?? 0), 0);
const s = await cluster.memcached.stats();
console.log(
  JSON.stringify({
    nodes,
    buzzesSent: sent,
    buzzes: counted,
    seconds: secs,
    buzzesPerSec: Math.round(counted / secs),
    memcachedOps: after - before,
    opsPerBuzz: (after - before) / counted,
    memcachedOpsPerSec: Math.round((after - before) / secs),
    mysqlTransactionsPerSec: +(batches / secs).toFixed(2),
    mysqlRowsPerSec: +(rows / secs).toFixed(2),
    stats: Object.fromEntries(statKeys.map((k) => [k, s[k]])),
  }),
);
await cluster.stop();
