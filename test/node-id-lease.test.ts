/**
 * One live process per NODE_ID, over real memcached and MariaDB: a second process started with the
 * id of a live one (a rolling deploy where the old process still drains) waits for it instead of
 * sharing its batch sequence, where its batches were reported persisted and silently ignored;
 * a SIGKILLed node's successor starts once the lease expires; a third one is refused with exit
 * code 3; worker threads hold a lease each (`NODE_ID-w<i>`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { eventually, openShow, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { waitFor } from "./harness/wait.ts";

let cluster: Cluster;
let db: string;
before(async () => {
  cluster = await startCluster(1);
  db = new URL(cluster.mysqlUrl).pathname.slice(1);
});
after(async () => {
  await cluster.stop();
});

/** `n` new viewers on `node` buzz `act` once each; resolves when each is acked as counted. */
async function buzzers(node: RunningServer, show: string, act: string, from: number, n: number): Promise<void> {
  const viewers = await Promise.all(Array.from({ length: n }, (_, i) => TestViewer.join(node.wsUrl, show, `v${from + i}`)));
  await Promise.all(viewers.map((v) => v.votingOpen(act)));
  for (const v of viewers) v.buzz(act);
  await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.counted === 1, "counted ack", 10_000)));
  for (const v of viewers) v.close();
}

/** Start a process with `nodeId` without waiting for it to listen; `lines` collects its log lines from the start. */
function starting(nodeId: string, extra: Record<string, string> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const server = startServer({ ...cluster.env, NODE_ID: nodeId, ...extra }, 40_000, { onLine: (r) => lines.push(r) });
  server.catch(() => undefined); // awaited (or its refusal checked) by the test
  return { server, lines };
}

test("a second process with a live process's NODE_ID waits for it; every counted buzz reaches the record", async () => {
  const first = cluster.nodes[0]!;
  await openShow(first, "lease", ["a"]);
  await buzzers(first, "lease", "a", 0, 20);
  await eventually(
    () => showState(first, "lease"),
    (s) => s.durable?.a === 20,
    "first batches committed",
  );

  // The successor starts while the old process still runs (and keeps counting and persisting).
  const next = starting("n1");
  await waitFor(() => next.lines.some((l) => l.msg === "listening" || String(l.msg).startsWith("NODE_ID held by another live process")), {
    what: "the second process to have read the record",
    timeoutMs: 20_000,
  });
  await buzzers(first, "lease", "a", 20, 10);
  await eventually(
    () => showState(first, "lease"),
    (s) => s.durable?.a === 30,
    "the first process's later batches committed",
  );
  assert.equal(await first.stop(), 0, "the old process drains cleanly");

  const second = await next.server;
  cluster.nodes.push(second);
  await buzzers(second, "lease", "a", 30, 10);
  const s = await eventually(
    () => showState(second, "lease"),
    (x) => x.durable?.a === 40,
    "every acked buzz in the record",
    10_000,
  );
  assert.equal(s.totals.a, 40);
  assert.ok(
    next.lines.some((l) => String(l.msg).startsWith("NODE_ID held by another live process")),
    "the second process waited for the lease",
  );
});

test("a SIGKILLed node's successor starts once the lease expires; a third process is refused with exit code 3", async () => {
  const victim = await cluster.addNode("k1");
  await openShow(victim, "kill", ["a"]);
  await buzzers(victim, "kill", "a", 0, 10);
  await eventually(
    () => showState(victim, "kill"),
    (x) => x.durable?.a === 10,
    "committed before the kill",
  );
  await victim.stop("SIGKILL");
  const t0 = Date.now();
  const successor = await starting("k1").server;
  cluster.nodes.push(successor);
  assert.ok(Date.now() - t0 < 15_000, "started within the lease's expiry (plus start-up)");
  await buzzers(successor, "kill", "a", 10, 5);
  await eventually(
    () => showState(successor, "kill"),
    (x) => x.durable?.a === 15,
    "the successor's batches committed",
  );

  // A third process with the same id while the successor lives: refused after its wait (1 s drain timeout + 2 x 5 s).
  const third = starting("k1", { DRAIN_TIMEOUT_MS: "1000" });
  await assert.rejects(third.server, /exited with 3 before listening[\s\S]*NODE_ID k1 is in use by another live process/);
  const [row] = await cluster.mariadb.query<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM \`${db}\`.node_leases WHERE node = 'k1'`);
  assert.equal(Number(row?.n), 1, "the successor still holds its lease");
});

test("worker threads hold one lease each (NODE_ID-w<i>), released by the drain", async () => {
  const node = await cluster.addNode("wl", { WORKERS: "2" });
  const rows = await cluster.mariadb.query<Array<{ node: string; holder: string }>>(
    `SELECT node, holder FROM \`${db}\`.node_leases WHERE node LIKE 'wl-%' ORDER BY node`,
  );
  assert.deepEqual(
    rows.map((r) => r.node),
    ["wl-w0", "wl-w1"],
  );
  assert.notEqual(rows[0]?.holder, rows[1]?.holder, "each worker thread is its own holder");
  assert.equal(await node.stop(), 0);
  const left = await cluster.mariadb.query<unknown[]>(`SELECT node FROM \`${db}\`.node_leases WHERE node LIKE 'wl-%'`);
  assert.equal(left.length, 0, "released after the last commit");
});
