/**
 * Phase 2 (read totals, publish) starts as soon as every unit's flush of the tick landed, with
 * PUBLISH_OFFSET_MS only as its deadline; on real servers: two worker threads (the supervisor's
 * tally) and three nodes over a real memcached (per-tick flushed marks by unit id). A stalled node
 * (SIGSTOP) must not stall the others' publishing: they publish at the deadline, and once the
 * stalled node has dropped out of the members, early again. Totals stay exact and never
 * decrease on any screen throughout.
 *
 * The offset is set well above what a flush takes (60 ms of a 100 ms tick) so that a phase 2 that
 * started early is told from one at the deadline by the delay histogram's 50 ms bucket.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openShow, openShowOnAll } from "./harness/cluster.ts";
import { startMemcached } from "./harness/memcached.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { pollUntil } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const TICK_MS = 100;
const OFFSET_MS = 60;
const ENV = { TICK_MS: String(TICK_MS), PUBLISH_OFFSET_MS: String(OFFSET_MS), BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" };

interface Phase2 {
  quorum: number;
  offset: number;
  /** Phase 2 starts within 50 ms of the tick instant (the deadline is at 60). */
  early: number;
  /** Units the memcached quorum waits for (NaN: none, e.g. embedded workers). */
  fleet: number;
}

function sample(text: string, name: string): number {
  const escaped = name.replace(/[{}"\\.+]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function phase2(node: { url: string }): Promise<Phase2> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return {
    quorum: sample(text, 'buzzcast_tick_phase2_starts_total{start="quorum"}'),
    offset: sample(text, 'buzzcast_tick_phase2_starts_total{start="offset"}'),
    early: sample(text, 'buzzcast_tick_phase2_delay_seconds_bucket{le="0.05"}'),
    fleet: sample(text, "buzzcast_flush_quorum_fleet"),
  };
}

/** Every viewer's totals of act `a`, frame by frame: they must never decrease. */
function watch(viewers: TestViewer[]): number[][] {
  return viewers.map((v) => {
    const seen: number[] = [];
    v.ws.on("message", () => {
      const f = v.frames[v.frames.length - 1];
      if (f?.type === "totals") seen.push(f.totals.a ?? 0);
    });
    return seen;
  });
}

function assertNeverDecreased(logs: number[][]): void {
  for (const [i, seen] of logs.entries()) {
    const drop = seen.findIndex((x, j) => j > 0 && x < seen[j - 1]!);
    assert.equal(drop, -1, `viewer ${i}: totals decreased at frame ${drop}: ${seen.slice(Math.max(0, drop - 2), drop + 1).join(" -> ")}`);
  }
}

/** One buzz from each buzzer, then every viewer must show exactly `expected` after them. */
async function buzzAndSee(buzzers: TestViewer[], viewers: TestViewer[], expected: number): Promise<number> {
  for (const b of buzzers) b.buzz("a");
  const want = expected + buzzers.length;
  await Promise.all(viewers.map((v) => v.until(() => (v.totals.a ?? 0) === want, `a = ${want} on every screen`, 10_000)));
  return want;
}

test("two worker threads: phase 2 starts once both flushed, before PUBLISH_OFFSET_MS", async (t) => {
  const srv = await startServer({ ...ENV, WORKERS: "2" });
  t.after(() => srv.stop());
  await openShow(srv, "ep", ["a"]);
  // Enough connections that both workers hold some (the kernel spreads them; 2^-11 for all on one).
  const viewers = await Promise.all(Array.from({ length: 12 }, (_, i) => TestViewer.join(srv.wsUrl, "ep", `w${i}`)));
  t.after(() => viewers.forEach((v) => v.close()));
  await Promise.all(viewers.map((v) => v.votingOpen("a")));
  const logs = watch(viewers);
  let total = 0;
  for (let r = 0; r < 5; r++) total = await buzzAndSee(viewers.slice(r, r + 3), viewers, total);
  const got = await pollUntil(
    () => phase2(srv),
    (p) => p.quorum >= 40 && p.early >= 40,
    "40 phase-2 starts on the workers' quorum, within 50 ms of their tick",
  );
  t.diagnostic(`phase 2 starts: ${got.quorum} on the quorum, ${got.offset} at the deadline; ${got.early} within 50 ms`);
  assertNeverDecreased(logs);
});

test("three nodes over memcached: phase 2 starts once all flushed; a stalled node delays the others to the deadline, not beyond", async (t) => {
  const mc = await startMemcached();
  t.after(() => mc.stop());
  const nodes: RunningServer[] = [];
  for (let i = 0; i < 3; i++) nodes.push(await startServer({ ...ENV, MEMCACHED_SERVERS: mc.address, NODE_ID: `ep-${i}` }));
  const [n0, n1, n2] = nodes as [RunningServer, RunningServer, RunningServer];
  // A stopped process ignores SIGTERM: resume it before stopping everything.
  t.after(() => Promise.all(nodes.map((n) => (n.proc.kill("SIGCONT"), n.stop()))));
  await openShowOnAll(nodes, "ep", ["a"]);
  const on = (n: RunningServer, k: number) =>
    Promise.all(Array.from({ length: k }, (_, i) => TestViewer.join(n.wsUrl, "ep", `${n.port}-${i}`)));
  const [v0, v1, v2] = [await on(n0, 3), await on(n1, 3), await on(n2, 3)];
  const all = [...v0, ...v1, ...v2];
  t.after(() => all.forEach((v) => v.close()));
  await Promise.all(all.map((v) => v.votingOpen("a")));
  const logs = watch(all);

  // Every node counted in the fleet, and publishing on the quorum.
  let total = 0;
  for (const group of [v0, v1, v2]) total = await buzzAndSee(group, all, total);
  for (const n of nodes) {
    const p = await pollUntil(
      () => phase2(n),
      (p) => p.fleet === 3 && p.quorum >= 20 && p.early >= 20,
      `${n.url}: a fleet of 3, and 20 phase-2 starts on the quorum within 50 ms of their tick`,
    );
    t.diagnostic(`${n.url}: ${p.quorum} on the quorum, ${p.offset} at the deadline, fleet ${p.fleet}`);
  }

  // Node 2 stalls: the other two keep publishing (at the deadline while node 2 is still counted).
  const before = await phase2(n0);
  n2.proc.kill("SIGSTOP");
  const live = [...v0, ...v1];
  total = await buzzAndSee([...v0, ...v1], live, total);
  const stalled = await pollUntil(
    () => phase2(n0),
    (p) => p.offset >= before.offset + 5,
    "node 0 publishing at the deadline while node 2 is stopped",
  );
  // Once node 2 misses a fleet window it is no longer waited for: early again, without it.
  const without = await pollUntil(
    () => phase2(n0),
    (p) => p.fleet === 2 && p.quorum >= stalled.quorum + 10,
    "node 0 publishing on a quorum of 2 while node 2 is stopped",
  );
  total = await buzzAndSee([...v0, ...v1], live, total);
  t.diagnostic(
    `node 0 while node 2 stopped: ${stalled.offset - before.offset} at the deadline, then fleet ${without.fleet} and ` +
      `${without.quorum - stalled.quorum} on the quorum`,
  );

  // Node 2 resumes: its viewers catch up to the exact total, and it is waited for again.
  n2.proc.kill("SIGCONT");
  total = await buzzAndSee(v2, all, total);
  await pollUntil(
    () => phase2(n0),
    (p) => p.fleet === 3,
    "node 2 counted in the fleet again",
  );
  assert.equal(await buzzAndSee([...v0, ...v1, ...v2], all, total), 9 + 6 + 6 + 3 + 9, "every buzz counted once on every screen");
  assertNeverDecreased(logs);
});
