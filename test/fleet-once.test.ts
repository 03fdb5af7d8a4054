/**
 * Once per viewer per act per epoch, fleet-wide, for real: three nodes behind HAProxy on one
 * memcached and one MariaDB. The same viewer on every node at the same instant counts once; a
 * memcached flush mid-act counts nobody twice (the record decides meanwhile); a viewer whose node
 * drains or is killed reconnects elsewhere and gets `duplicate`. At the end of every test, per act:
 * live totals on every node == the record == the audit log == the acks' counted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { openShowOnAll, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { startHaproxy, type RunningHaproxy } from "./harness/haproxy.ts";
import { textCommand } from "./harness/memcached.ts";
import { assertCountsAgree, recordAndAudit } from "./harness/count-audit.ts";
import { metricValue, pollUntil } from "./harness/wait.ts";

let cluster: Cluster;
let lb: RunningHaproxy;
const everyone: TestViewer[] = [];

async function join(url: string, show: string, viewer: string): Promise<TestViewer> {
  const v = await TestViewer.join(url, show, viewer);
  everyone.push(v);
  return v;
}

/** Buzz `act` `times` times on every connection at once; resolves when each has its ack of the last. */
async function burst(conns: readonly TestViewer[], act: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) for (const c of conns) c.buzz(act);
  await Promise.all(conns.map((c) => c.until(() => c.lastAck?.seq === c.sentSeq, `ack of seq ${c.sentSeq}`, 15_000)));
}

async function stage(show: string, act: string, open: boolean, watchers: readonly TestViewer[]): Promise<void> {
  await admin(cluster.nodes[0]!, "POST", `/api/shows/${show}/stage`, { act, open });
  await Promise.all(watchers.map((v) => v.until(() => v.stage?.act === act && v.stage.open === open, `stage ${act} ${open}`)));
}

before(async () => {
  cluster = await startCluster(3, { BUZZ_POLICY: "once" });
  lb = await startHaproxy(cluster.nodes.map((n, i) => ({ port: n.port, name: `n${i + 1}` })));
  await lb.waitForStats((s) => s.length === 3 && s.every((x) => x.status === "UP"), "every node UP");
});

after(async () => {
  for (const v of everyone) v.close();
  await lb?.stop();
  await cluster?.stop();
});

test("the same viewer on three nodes buzzing the same act at the same instant, many times over, counts once", async () => {
  const show = "f-race";
  await openShowOnAll(cluster.nodes, show, ["a", "b", "c"]);
  const [n1, n2, n3] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const VIEWERS = 40;
  const byViewer = await Promise.all(
    Array.from({ length: VIEWERS }, (_, i) => Promise.all([n1, n2, n3].map((n) => join(n.wsUrl, show, `race${i}`)))),
  );
  const conns = byViewer.flat();
  await Promise.all(conns.map((c) => c.votingOpen("a")));
  for (const [i, act] of ["a", "b", "c"].entries()) {
    if (i > 0) await stage(show, act, true, conns);
    await burst(conns, act, 5);
    for (const [v, mine] of byViewer.entries()) {
      const counted = mine.reduce((n, c) => n + (c.lastAck?.counted ?? 0), 0);
      assert.equal(counted, i + 1, `viewer race${v}: one counted buzz per act over its three connections`);
    }
  }
  await assertCountsAgree(cluster, cluster.nodes, show, { a: VIEWERS, b: VIEWERS, c: VIEWERS }, conns);
});

test("memcached flushed mid-act: no viewer counted twice; the record decides meanwhile", async (t) => {
  const show = "f-flush";
  await openShowOnAll(cluster.nodes, show, ["a"]);
  const [n1, n2, n3] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const first = await Promise.all(Array.from({ length: 30 }, (_, i) => join(n1.wsUrl, show, `early${i}`)));
  await Promise.all(first.map((v) => v.votingOpen("a")));
  await burst(first, "a", 1);
  for (const v of first) assert.equal(v.lastAck?.last, "counted");

  const reply = await textCommand(cluster.memcached.port, "flush_all", (r) => r.includes("\r\n"));
  assert.match(reply, /OK/);

  // The same viewers on the other nodes: duplicates, decided by the record (the cache lost them).
  const again = await Promise.all(first.map((_, i) => join((i % 2 === 0 ? n2 : n3).wsUrl, show, `early${i}`)));
  const late = await Promise.all(Array.from({ length: 20 }, (_, i) => join((i % 2 === 0 ? n2 : n3).wsUrl, show, `late${i}`)));
  await Promise.all([...again, ...late].map((v) => v.votingOpen("a")));
  const t0 = Date.now();
  await burst([...again, ...late], "a", 2);
  const ackMs = Date.now() - t0;
  t.diagnostic(`record-decided acks after a memcached flush: all ${again.length + late.length} within ${ackMs} ms`);
  for (const v of again) assert.deepEqual([v.lastAck?.counted, v.lastAck?.rejected.duplicate], [0, 2], "a viewer counted before the flush");
  for (const v of late) assert.deepEqual([v.lastAck?.counted, v.lastAck?.rejected.duplicate], [1, 1], "a new viewer counts once");
  // And on their first connections: still duplicates.
  await burst(first, "a", 1);
  for (const v of first) assert.equal(v.lastAck?.last, "duplicate");

  // Voting closes: reconciliation raises the live totals to the record if the flush lost any.
  await stage(show, "a", false, [...first, ...again, ...late]);
  await assertCountsAgree(cluster, cluster.nodes, show, { a: 50 }, [...first, ...again, ...late]);
});

test("cost: one memcached add per counted buzz of a distinct viewer, nothing per repeated buzz", async (t) => {
  const show = "f-cost";
  const live = cluster.nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
  await openShowOnAll(live, show, ["a"]);
  const VIEWERS = 300;
  const conns = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => join(live[i % live.length]!.wsUrl, show, `cost${i}`)));
  await Promise.all(conns.map((v) => v.votingOpen("a")));
  const sum = async (name: string) => (await Promise.all(live.map((n) => metricValue(n, name)))).reduce((a, b) => a + b, 0);
  const statKeys = [
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "incr_hits",
    "incr_misses",
    "delete_hits",
    "delete_misses",
    "cas_hits",
    "cas_misses",
  ];
  const mcOps = async () => {
    const s = await cluster.memcached.stats();
    return statKeys.reduce((n, k) => n + Number(s[k] ?? 0), 0);
  };
  const [adds0, reads0, ops0, t0] = [
    await sum("buzzcast_once_claim_adds_total"),
    await sum("buzzcast_once_claim_sentinel_reads_total"),
    await mcOps(),
    Date.now(),
  ];
  await burst(conns, "a", 5); // 1,500 buzzes, 300 distinct viewers
  const [adds, reads, ops, secs] = [
    (await sum("buzzcast_once_claim_adds_total")) - adds0,
    (await sum("buzzcast_once_claim_sentinel_reads_total")) - reads0,
    (await mcOps()) - ops0,
    (Date.now() - t0) / 1000,
  ];
  const counted = conns.reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
  assert.equal(counted, VIEWERS);
  assert.equal(adds, VIEWERS, "one claim add per distinct viewer and act; repeated buzzes are duplicates in process");
  t.diagnostic(
    `memcached: ${adds} claim adds + ${reads} sentinel reads for ${counted} counted buzzes (of ${5 * VIEWERS}); ` +
      `all memcached ops in ${secs.toFixed(1)} s (incl. per-tick counter and show polls of ${live.length} nodes): ${ops} = ${(ops / counted).toFixed(2)} per counted buzz`,
  );
  await assertCountsAgree(cluster, live, show, { a: VIEWERS }, conns);
});

test("a viewer whose node drains, or is killed, reconnects through HAProxy and gets duplicate", async () => {
  const show = "f-move";
  await openShowOnAll(cluster.nodes, show, ["a"]);
  const [n1, n2, n3] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const onN2 = await Promise.all(Array.from({ length: 20 }, (_, i) => join(n2.wsUrl, show, `drained${i}`)));
  const onN3 = await Promise.all(Array.from({ length: 20 }, (_, i) => join(n3.wsUrl, show, `killed${i}`)));
  await Promise.all([...onN2, ...onN3].map((v) => v.votingOpen("a")));
  await burst([...onN2, ...onN3], "a", 1);
  for (const v of [...onN2, ...onN3]) assert.equal(v.lastAck?.last, "counted");

  // n2 drains (SIGTERM): its viewers reconnect through HAProxy, which sends them to n1 or n3.
  assert.equal(await n2.stop("SIGTERM"), 0);
  await lb.waitForStats((s) => s.find((x) => x.name === "n2")?.status.startsWith("DOWN") === true, "n2 DOWN");
  const back2 = await Promise.all(onN2.map((_, i) => join(lb.wsUrl, show, `drained${i}`)));
  await Promise.all(back2.map((v) => v.votingOpen("a")));
  await burst(back2, "a", 1);
  for (const v of back2) assert.equal(v.lastAck?.last, "duplicate", "counted on n2 before it drained");

  // n3 is killed once its counts are in the record (what a SIGKILL loses is documented apart).
  const epoch = (await showState(n1, show)).epoch;
  await pollUntil(
    () => recordAndAudit(cluster, show, epoch),
    (p) => p.record.a === 40,
    "n3's buzzes in the record",
  );
  await n3.stop("SIGKILL");
  await lb.waitForStats((s) => s.find((x) => x.name === "n3")?.status.startsWith("DOWN") === true, "n3 DOWN");
  const back3 = await Promise.all(onN3.map((_, i) => join(lb.wsUrl, show, `killed${i}`)));
  await Promise.all(back3.map((v) => v.votingOpen("a")));
  await burst(back3, "a", 1);
  for (const v of back3) assert.equal(v.lastAck?.last, "duplicate", "counted on n3 before it was killed");

  // back2 viewers HAProxy had sent to n3 were cut by the kill; the rest are on n1.
  await stage(
    show,
    "a",
    false,
    [...back2, ...back3].filter((v) => v.closeCode === null),
  );
  await assertCountsAgree(cluster, [n1], show, { a: 40 }, [...onN2, ...onN3, ...back2, ...back3]);
});
