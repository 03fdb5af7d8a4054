/**
 * A live node's /metrics, after real traffic (acks, once claims, a bad frame), passes
 * `promtool check metrics`: a single process over real memcached and MariaDB (every cache and
 * record family present), and a node of two worker threads (families aggregated over the threads).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startCluster, type Cluster } from "./harness/cluster.ts";
import { promtoolCheck } from "./harness/promtool.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { waitFor } from "./harness/wait.ts";

const sample = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};

/** Buzz from a few viewers on the demo show, send one bad frame, and return the scrape once every ack is in it. */
async function trafficThenScrape(node: RunningServer): Promise<string> {
  const viewers = await Promise.all(Array.from({ length: 6 }, (_, i) => TestViewer.join(node.wsUrl, "demo", `m${i}`)));
  const act = viewers[0]!.stage?.act;
  assert.ok(act, "the demo show has an act on stage");
  await Promise.all(viewers.map((v) => v.votingOpen(act)));
  for (const v of viewers) v.buzz(act);
  await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.seq === 1, "ack of the buzz", 10_000)));
  const bad = await TestViewer.join(node.wsUrl, "demo", "bad");
  bad.sendRaw("{not json");
  await bad.closed;
  let text = "";
  await waitFor(
    async () => {
      text = await (await fetch(`${node.url}/metrics`)).text();
      return sample(text, "buzzcast_ack_latency_seconds_count") >= 6 && sample(text, "buzzcast_claim_decision_seconds_count") >= 6;
    },
    { what: "the six acks and claims in /metrics", timeoutMs: 30_000 },
  );
  for (const v of viewers) v.close();
  return text;
}

let cluster: Cluster | null = null;
after(async () => {
  await cluster?.stop();
});

test("single process over memcached and MariaDB: /metrics passes promtool", async () => {
  cluster = await startCluster(1, { BUZZ_POLICY: "once" });
  const text = await trafficThenScrape(cluster.nodes[0]!);
  const verdict = promtoolCheck(text);
  assert.ok(verdict.ok, `promtool: ${verdict.output}`);
  assert.ok(sample(text, 'buzzcast_ack_latency_seconds_bucket{le="+Inf"}') >= 6);
  assert.ok(sample(text, "buzzcast_tick_duration_seconds_count") > 0);
  assert.ok(sample(text, "buzzcast_store_flush_duration_seconds_count") > 0);
  assert.ok(sample(text, 'buzzcast_closes_total{code="bad_frame"}') >= 1, "the bad frame's close, labelled");
  assert.ok(sample(text, "buzzcast_tick_period_seconds") > 0);
});

test("two worker threads: the aggregated /metrics passes promtool", async () => {
  // Two threads each load the TypeScript sources: allow for a busy machine.
  const node = await startServer({ WORKERS: "2", BUZZ_POLICY: "once", TICK_MS: "50" }, 60_000);
  try {
    const text = await trafficThenScrape(node);
    const verdict = promtoolCheck(text);
    assert.ok(verdict.ok, `promtool: ${verdict.output}`);
    assert.equal(sample(text, "buzzcast_workers"), 2);
    assert.ok(sample(text, "buzzcast_slot_table_capacity") > 0);
    // Each family appears once, however many threads reported it.
    const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
    assert.equal(new Set(types).size, types.length, "no family rendered twice");
  } finally {
    await node.stop();
  }
});
