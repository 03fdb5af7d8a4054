/**
 * The data path under faults, on real memcached and MariaDB with two nodes. Each scenario ends with
 * exact totals: live totals on every node == the MySQL record == buzzes acknowledged as counted.
 * Every step waits for what the scenario needs to have happened (buzzes acknowledged, a node
 * noticing the fault, deltas queueing) rather than for a fixed time.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { openShow, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { ackedCounted, assertNeverDecreased, buzzSteadily } from "./harness/load.ts";
import { metricValue, pollUntil, waitFor } from "./harness/wait.ts";

let cluster: Cluster;
before(async () => {
  cluster = await startCluster(2, { BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" });
});
after(async () => {
  await cluster.stop();
});

const live = () => cluster.nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
const dbName = () => new URL(cluster.mysqlUrl).pathname.slice(1);

async function audience(show: string, perNode: number): Promise<TestViewer[]> {
  await openShow(live()[0]!, show, ["a", "b"]);
  const nodes = live();
  const viewers = await Promise.all(
    Array.from({ length: perNode * nodes.length }, (_, i) => TestViewer.join(nodes[i % nodes.length]!.wsUrl, show)),
  );
  await Promise.all(viewers.map((v) => v.votingOpen("a")));
  return viewers;
}

const onNode = (viewers: readonly TestViewer[], node: RunningServer) => viewers.filter((v) => v.ws.url.includes(`:${node.port}/`));

/** Waits until these viewers' acknowledged counted buzzes grew by `by` from now (the load is flowing). */
async function moreAcked(viewers: readonly TestViewer[], by: number, what: string, timeoutMs = 15_000): Promise<void> {
  const from = ackedCounted(viewers);
  await waitFor(() => ackedCounted(viewers) >= from + by, { what: `${by} more counted buzzes ${what}`, timeoutMs });
}

/** Waits until every open viewer on every live node sees act `a` above what each saw when called. */
async function totalsRiseEverywhere(viewers: readonly TestViewer[], what: string): Promise<void> {
  const open = viewers.filter((v) => v.closeCode === null);
  const seen = open.map((v) => v.totals.a ?? 0);
  await Promise.all(open.map((v, i) => v.until(() => (v.totals.a ?? 0) > seen[i]!, `totals rising ${what}`, 15_000)));
}

/** Close voting, then wait until every live node shows `expected` both live and durable. */
async function assertExactEverywhere(show: string, expected: number, viewers: readonly TestViewer[]): Promise<void> {
  await admin(live()[0]!, "POST", `/api/shows/${show}/stage`, { act: "a", open: false });
  for (const n of live()) {
    const s = await pollUntil(
      () => showState(n, show),
      (s) => s.totals.a === expected && s.durable?.a === expected,
      `exact ${expected} on ${n.url}`,
      20_000,
    );
    assert.equal(s.totals.a, expected);
  }
  const open = viewers.filter((v) => v.closeCode === null);
  await Promise.all(open.map((v) => v.until(() => v.totals.a === expected, `viewer sees ${expected}`, 10_000)));
  assertNeverDecreased(viewers);
  for (const v of viewers) v.close();
}

test("memcached flushed, then restarted, mid-show: totals never drop and end exact", async () => {
  const viewers = await audience("flush", 5);
  const load = buzzSteadily(viewers, "a");
  await moreAcked(viewers, 200, "before the flush");
  await cluster.memcached.flushAll();
  // Counting goes on and every viewer on both nodes sees totals rise again through the re-seeded keys.
  await moreAcked(viewers, 200, "after the flush");
  await totalsRiseEverywhere(viewers, "after the flush");
  await cluster.memcached.restart();
  await moreAcked(viewers, 200, "after the restart");
  await totalsRiseEverywhere(viewers, "after the restart");
  await load.stop();
  await assertExactEverywhere("flush", ackedCounted(viewers), viewers);
});

test("memcached unreachable: counting continues, degraded meanwhile, nothing lost or doubled", async () => {
  const viewers = await audience("mcdown", 5);
  const load = buzzSteadily(viewers, "a");
  await moreAcked(viewers, 100, "before the outage");
  const nodes = live();
  const errorsBefore = await Promise.all(nodes.map((n) => metricValue(n, "buzzcast_cache_errors_total")));
  await cluster.memcached.pause();
  let paused = true;
  after(() => {
    if (paused) cluster.memcached.resume();
  });
  for (const node of nodes) {
    await pollUntil(
      () => fetch(`${node.url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as { status: string } })),
      (r) => r.status === 503 && r.body.status !== "ready",
      `readyz degraded on ${node.url}`,
      8000,
    );
  }
  // While it is away: every node keeps acknowledging buzzes as counted, through several failed flushes.
  for (const node of nodes) await moreAcked(onNode(viewers, node), 100, `on ${node.url} while memcached is away`);
  for (const [i, node] of nodes.entries()) {
    await waitFor(async () => (await metricValue(node, "buzzcast_cache_errors_total")) >= errorsBefore[i]! + 3, {
      what: `failed cache flushes on ${node.url}`,
    });
  }
  cluster.memcached.resume();
  paused = false;
  // Back: the queued buzzes reach memcached, readiness returns, and totals rise everywhere again.
  for (const node of nodes) {
    await pollUntil(
      () => fetch(`${node.url}/readyz`).then((r) => r.status),
      (s) => s === 200,
      `ready again: ${node.url}`,
    );
  }
  await totalsRiseEverywhere(viewers, "after memcached came back");
  await load.stop();
  await assertExactEverywhere("mcdown", ackedCounted(viewers), viewers);
});

test("MySQL unreachable: live totals keep flowing via memcached, deltas persist when it returns", async () => {
  const viewers = await audience("dbdown", 4);
  const load = buzzSteadily(viewers, "a", 50);
  await moreAcked(viewers, 100, "before the outage");
  const [n1, n2] = live();
  const watcher = await TestViewer.join(n2!.wsUrl, "dbdown");
  cluster.mariadb.pause();
  try {
    const seen0 = watcher.totals.a ?? 0;
    // Deltas queue in memory while MySQL is down, and the metric shows it (more than one persist
    // interval's worth: the node retries, it does not drop them).
    await waitFor(async () => (await metricValue(n1!, "buzzcast_store_unpersisted_buzzes")) > 200, {
      what: "unpersisted buzzes queued on n1",
    });
    await watcher.until(() => (watcher.totals.a ?? 0) > seen0 + 100, "totals rising on clients while MySQL is down", 15_000);
    // The public state still answers, live totals only: `durable` is omitted (and counted), never stale zeros.
    const unavailable0 = await metricValue(n1!, "buzzcast_durable_totals_unavailable_total");
    const state = await showState(n1!, "dbdown");
    assert.ok((state.totals.a ?? 0) > 0 && state.durable === undefined, `live totals without durable: ${JSON.stringify(state)}`);
    assert.equal(await metricValue(n1!, "buzzcast_durable_totals_unavailable_total"), unavailable0 + 1);
  } finally {
    cluster.mariadb.resume();
  }
  await load.stop();
  watcher.close();
  await assertExactEverywhere("dbdown", ackedCounted(viewers), viewers);
});

test("SIGTERM on a node: it persists everything before exit; nothing lost", async () => {
  const viewers = await audience("term", 5);
  const load = buzzSteadily(viewers, "a");
  const victim = live()[1]!;
  const onVictim = onNode(viewers, victim);
  await moreAcked(onVictim, 100, "on the node about to stop");
  const code = await victim.stop("SIGTERM");
  assert.equal(code, 0);
  for (const v of onVictim) assert.equal(await v.closed, 1001);
  const others = viewers.filter((v) => !onVictim.includes(v));
  await moreAcked(others, 50, "on the surviving node after the stop");
  await load.stop();
  await assertExactEverywhere("term", ackedCounted(viewers), viewers);
  await cluster.addNode("n2b");
});

test("SIGKILL on a node: at most its unpersisted window is lost", async (t) => {
  const viewers = await audience("kill", 5);
  const survivor = live()[0]!;
  assert.equal(survivor, cluster.nodes[0], "n1 survives");
  const victim: RunningServer = live()[1]!;
  const onVictim = onNode(viewers, victim);
  const others = viewers.filter((v) => !onVictim.includes(v));
  // The bound: what the victim acknowledged in its last PERSIST_INTERVAL_MS + 2 ticks before the kill.
  const windowMs = Number(cluster.env.PERSIST_INTERVAL_MS) + 2 * Number(cluster.env.TICK_MS);
  const samples: Array<{ at: number; acked: number }> = [];
  const sampler = setInterval(() => samples.push({ at: Date.now(), acked: ackedCounted(onVictim) }), 10);
  const load = buzzSteadily(viewers, "a");
  try {
    await waitFor(() => samples.length > 0 && Date.now() - samples[0]!.at > windowMs && ackedCounted(onVictim) >= 100, {
      what: "a full window of load on the victim",
    });
  } finally {
    clearInterval(sampler);
  }
  const ackedByVictim = ackedCounted(onVictim);
  const killedAt = Date.now();
  await victim.stop("SIGKILL");
  // Acks the victim had sent by (kill - window): the latest sample at or before it.
  const before = samples.filter((s) => s.at <= killedAt - windowMs).at(-1)?.acked ?? 0;
  await Promise.all(onVictim.map((v) => v.closed));
  await load.stop();
  const expectedOthers = ackedCounted(others);
  await admin(survivor, "POST", "/api/shows/kill/stage", { act: "a", open: false });
  // Everything the survivor acknowledged reaches the record, as its own rows.
  await waitFor(
    async () => {
      const [row] = await cluster.mariadb.query<Array<{ n: number | null }>>(
        `SELECT SUM(count) AS n FROM \`${dbName()}\`.counts WHERE show_id = 'kill' AND node = 'n1'`,
      );
      return Number(row?.n ?? 0) === expectedOthers;
    },
    { what: `n1's ${expectedOthers} acknowledged buzzes in the record`, timeoutMs: 20_000 },
  );
  const s = await showState(survivor, "kill");
  const durable = s.durable?.a ?? 0;
  const lost = expectedOthers + ackedByVictim - durable;
  t.diagnostic(
    `victim acked ${ackedByVictim}, lost ${lost}; bound ${ackedByVictim - before} (its acks in the last ${windowMs} ms); live total ${s.totals.a}`,
  );
  assert.ok(lost >= 0, "the record never holds more than was acknowledged");
  assert.ok(lost <= ackedByVictim - before + 20, `lost ${lost} > window ${ackedByVictim - before}`);
  assert.ok((s.totals.a ?? 0) >= durable, "live totals never below the record");
  for (const v of viewers) v.close();
});
