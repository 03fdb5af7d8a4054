/**
 * A node with WORKERS=2: two uWS Apps in worker threads on one port. Totals converge across
 * workers (shared memory in the embedded default, memcached + MySQL in shared mode); metrics and
 * readiness cover the whole node; a crashed worker is restarted without touching the other's
 * counts; SIGTERM drains every worker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { openShow, showState, startCluster } from "./harness/cluster.ts";
import { pollUntil } from "./harness/wait.ts";

async function metric(srv: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : NaN;
}

test("embedded, 2 workers: exact shared totals, node-wide metrics, crash restart, drain", async (t) => {
  const srv = await startServer({ WORKERS: "2", TICK_MS: "50" });
  let stderr = "";
  srv.proc.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  t.after(() => {
    if (srv.proc.signalCode) t.diagnostic(`server died of ${srv.proc.signalCode}: ${stderr.slice(0, 2000)}`);
  });
  await openShow(srv, "w", ["a", "b"]);
  const viewers = await Promise.all(Array.from({ length: 100 }, (_, i) => TestViewer.join(srv.wsUrl, "w", `v${i}`)));
  await Promise.all(viewers.map((v) => v.votingOpen("a")));
  for (const v of viewers) v.buzz("a");
  await Promise.all(viewers.map((v) => v.until(() => v.totals.a === 100, "a = 100 on every worker", 10_000)));
  await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.counted === 1, "ack")));
  assert.equal(await metric(srv, "buzzcast_buzzes_counted_total"), 100, "one scrape counts both workers");
  assert.equal(await metric(srv, "buzzcast_workers_ready"), 2);
  assert.equal(await metric(srv, "buzzcast_connections"), 100);
  assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);

  // Crash worker 0: its viewers are cut off, the other worker's are not, no counted buzz is lost.
  srv.proc.kill("SIGUSR2");
  await pollUntil(
    () => metric(srv, "buzzcast_worker_restarts_total"),
    (n) => n === 1,
    "worker restarted",
  );
  await pollUntil(
    () => metric(srv, "buzzcast_workers_ready"),
    (n) => n === 2,
    "both workers ready again",
  );
  const cut = viewers.filter((v) => v.closeCode !== null);
  const kept = viewers.filter((v) => v.closeCode === null);
  assert.ok(cut.length > 0 && kept.length > 0, `connections were spread over both workers (cut ${cut.length})`);
  const back = await Promise.all(cut.map((v, i) => TestViewer.join(srv.wsUrl, "w", `v-back-${i}`)));
  const all = [...kept, ...back];
  await admin(srv, "POST", "/api/shows/w/stage", { act: "b", open: true });
  await Promise.all(all.map((v) => v.until(() => v.frames.some((f) => f.type === "stage" && f.act === "b"), "stage b on both workers")));
  for (const v of all) v.buzz("b");
  await Promise.all(all.map((v) => v.until(() => v.totals.a === 100 && v.totals.b === all.length, "exact after the crash", 10_000)));
  assert.deepEqual((await showState(srv, "w")).totals, { a: 100, b: all.length });

  // Resets retire epochs: every worker releases their counter slots, so the table does not grow.
  const used = await metric(srv, "buzzcast_slot_table_used");
  assert.ok(used >= 2, `slots of the live epoch are held (${used})`);
  for (let i = 0; i < 30; i++) await admin(srv, "POST", "/api/shows/w/reset");
  await pollUntil(
    () => metric(srv, "buzzcast_slot_table_used"),
    (n) => n === used,
    `slots back to ${used} after 30 resets`,
  );
  // Fewer than 60: an epoch replaced before any worker flushed it never got slots.
  assert.ok((await metric(srv, "buzzcast_slot_table_freed_total")) >= 2, "retired epochs' slots were freed");

  const exit = srv.stop("SIGTERM");
  for (const v of all) assert.equal(await v.closed, 1001);
  assert.equal(await exit, 0);
});

test("shared mode, 2 workers per node: each worker is a node of the record; exact totals", async () => {
  const cluster = await startCluster(1, { WORKERS: "2" });
  try {
    const [n1] = cluster.nodes;
    await openShow(n1!, "ws", ["a"]);
    const viewers = await Promise.all(Array.from({ length: 60 }, (_, i) => TestViewer.join(n1!.wsUrl, "ws", `v${i}`)));
    // The stage reaches the other worker through memcached within a tick or two.
    await Promise.all(viewers.map((v) => v.votingOpen("a")));
    for (const v of viewers) v.buzz("a");
    await Promise.all(viewers.map((v) => v.until(() => v.totals.a === 60, "a = 60", 10_000)));
    const s = await pollUntil(
      () => showState(n1!, "ws"),
      (s) => s.durable?.a === 60,
      "durable 60",
    );
    assert.equal(s.totals.a, 60);
    const rows = await cluster.mariadb.query<Array<{ node: string }>>(
      `SELECT DISTINCT node FROM \`${new URL(cluster.mysqlUrl).pathname.slice(1)}\`.counts WHERE show_id = 'ws' ORDER BY node`,
    );
    assert.deepEqual(
      rows.map((r) => r.node),
      ["n1-w0", "n1-w1"],
    );
    for (const v of viewers) v.close();
  } finally {
    await cluster.stop();
  }
});

test("embedded, 2 workers: the same viewer on both workers at once counts once (the supervisor decides)", async (t) => {
  const srv = await startServer({ WORKERS: "2", TICK_MS: "50" });
  t.after(() => srv.stop("SIGKILL"));
  await openShow(srv, "wo", ["a"]);
  // Six connections per viewer: the kernel spreads them over both workers (SO_REUSEPORT).
  const VIEWERS = 20;
  const byViewer = await Promise.all(
    Array.from({ length: VIEWERS }, (_, i) => Promise.all(Array.from({ length: 6 }, () => TestViewer.join(srv.wsUrl, "wo", `same${i}`)))),
  );
  const conns = byViewer.flat();
  await Promise.all(conns.map((c) => c.votingOpen("a")));
  for (let k = 0; k < 3; k++) for (const c of conns) c.buzz("a");
  await Promise.all(conns.map((c) => c.until(() => c.lastAck?.seq === 3, "ack of the third buzz", 10_000)));
  for (const [i, mine] of byViewer.entries()) {
    assert.equal(
      mine.reduce((n, c) => n + (c.lastAck?.counted ?? 0), 0),
      1,
      `viewer same${i} counted once over its six connections`,
    );
  }
  await Promise.all(conns.map((c) => c.until(() => c.totals.a === VIEWERS, "live a = 20 on both workers", 10_000)));
  assert.equal((await showState(srv, "wo")).totals.a, VIEWERS);
  assert.equal(await metric(srv, "buzzcast_buzzes_counted_total"), VIEWERS, "counted once in the node-wide metrics");
  // A worker crash does not make the supervisor forget: viewers cut off come back as duplicates.
  srv.proc.kill("SIGUSR2");
  const cut = await pollUntil(
    async () => conns.filter((c) => c.closeCode !== null),
    (c) => c.length > 0,
    "worker 0's connections cut",
  );
  await pollUntil(
    () => metric(srv, "buzzcast_workers_ready"),
    (n) => n === 2,
    "both workers ready again",
  );
  const back = await Promise.all(cut.map((c) => TestViewer.join(srv.wsUrl, "wo", `same${byViewer.findIndex((m) => m.includes(c))}`)));
  await Promise.all(back.map((c) => c.votingOpen("a")));
  for (const c of back) c.buzz("a");
  await Promise.all(back.map((c) => c.until(() => c.lastAck?.seq === 1, "ack after the crash")));
  for (const c of back) assert.equal(c.lastAck?.last, "duplicate", "counted before the crash, on either worker");
  assert.equal((await showState(srv, "wo")).totals.a, VIEWERS);
  for (const c of [...conns, ...back]) c.close();
});
