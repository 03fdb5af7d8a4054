/**
 * Several nodes on one real memcached and one real MariaDB share one audience: a buzz on any node
 * reaches every node's viewers; a producer's change on any node reaches all of them; final totals
 * equal the record and the buzzes acknowledged as counted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { openShow, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { pollUntil } from "./harness/wait.ts";

let cluster: Cluster;
before(async () => {
  cluster = await startCluster(3);
});
after(async () => {
  await cluster.stop();
});

test("three nodes, one audience: exact totals everywhere, equal to the record and to the acks", async () => {
  const [n1, n2, n3] = cluster.nodes;
  assert.ok(n1 && n2 && n3);
  await openShow(n1, "final", ["a", "b"]);
  // Viewers on every node, including nodes that never saw the show created (looked up on hello).
  const viewers = await Promise.all(Array.from({ length: 90 }, (_, i) => TestViewer.join(cluster.nodes[i % 3]!.wsUrl, "final", `v${i}`)));
  // A node that looked the show up on hello may have the version from before voting opened for a
  // tick or two (the documented propagation bound): buzz once every viewer knows voting is open.
  await Promise.all(viewers.map((v) => v.votingOpen("a")));
  for (const v of viewers) v.buzz("a");
  await Promise.all(viewers.map((v) => v.until(() => v.totals.a === 90, "a = 90 on every node", 10_000)));

  // The producer closes voting through node 3; node 1's viewers hear it and their buzzes are refused.
  await admin(n3, "POST", "/api/shows/final/stage", { act: "b", open: true });
  await Promise.all(viewers.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "b"), "stage b on every node")));
  for (const v of viewers.slice(0, 30)) v.buzz("a");
  for (const v of viewers.slice(0, 45)) v.buzz("b");
  await Promise.all(viewers.map((v) => v.until(() => v.totals.b === 45, "b = 45", 10_000)));
  await admin(n2, "POST", "/api/shows/final/stage", { act: "b", open: false });

  const acked = { a: 0, b: 0 };
  for (const [i, v] of viewers.entries()) {
    await v.until(() => v.lastAck?.seq === (i < 30 ? 3 : i < 45 ? 2 : 1), "final ack");
    assert.equal(v.lastAck?.counted, i < 45 ? 2 : 1);
    if (i < 30) assert.equal(v.lastAck?.rejected.voting_closed, 1);
  }
  acked.a = 90;
  acked.b = 45;
  for (const n of cluster.nodes) {
    const s = await pollUntil(
      () => showState(n, "final"),
      (s) => s.durable?.a === 90 && s.durable.b === 45,
      "durable totals",
    );
    assert.deepEqual(s.totals, acked, "live totals on every node");
    assert.deepEqual(s.durable, acked, "the record");
  }
  for (const v of viewers) assert.deepEqual(v.totals, acked);
  // Each node wrote its own rows: viewer i joined node i % 3, so each node counted 30 a and 15 b.
  const rows = await cluster.mariadb.query<Array<{ node: string; n: number | string }>>(
    `SELECT node, SUM(count) AS n FROM \`${new URL(cluster.mysqlUrl).pathname.slice(1)}\`.counts WHERE show_id = 'final' GROUP BY node ORDER BY node`,
  );
  assert.deepEqual(
    rows.map((r) => [r.node, Number(r.n)]),
    [
      ["n1", 45],
      ["n2", 45],
      ["n3", 45],
    ],
    "one set of rows per node",
  );
  for (const v of viewers) v.close();
});

test("a shared node's /metrics exports the cache, record and show-source counters", async () => {
  const text = await (await fetch(`${cluster.nodes[0]!.url}/metrics`)).text();
  const value = (sample: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
    assert.ok(line, `${sample} exported`);
    return Number(line.slice(sample.length + 1));
  };
  assert.ok(value("buzzcast_l1_misses_total") > 0, "L1 misses counted");
  assert.ok(value('buzzcast_global_cache_ops_total{op="incrs"}') > 0, "increments counted");
  for (const cause of ["lock", "connection"]) assert.ok(value(`buzzcast_record_retries_total{cause="${cause}"}`) >= 0);
  for (const op of ["poll", "lookup_cache", "lookup_record", "malformed"])
    assert.equal(value(`buzzcast_show_source_errors_total{op="${op}"}`), 0, `no ${op} errors`);
});

test("a node started later serves the current show and stage", async () => {
  const late = await cluster.addNode("n4");
  const s = await showState(late, "final");
  assert.deepEqual(s.stage, { act: "b", open: false });
  assert.deepEqual(s.totals, { a: 90, b: 45 });
  const v = await TestViewer.join(late.wsUrl, "final");
  assert.deepEqual(v.welcome?.totals, { a: 90, b: 45 });
  v.close();
});
