/**
 * Act windows on the show clock, end to end: two nodes on one real memcached and MariaDB, viewers
 * on both buzzing continuously across a scheduled close (then a scheduled open). Every buzz counted
 * was received before the instant, every buzz after it is `voting_closed` (or counted, for the
 * open), on both nodes; both nodes' viewers get the stage frame at the instant, within a tick.
 *
 * Receipt times are bounded from the client (same host, same clock): a buzz sent at or after the
 * instant was received after it; a buzz covered by an ack that arrived before the instant was
 * received before it. The same close holds across worker threads (the supervisor's relay).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { openShow, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { pollUntil, waitFor } from "./harness/wait.ts";

const TICK_MS = 100;
const VIEWERS_PER_NODE = 3;
const BUZZ_EVERY_MS = 5;

interface Watched {
  v: TestViewer;
  node: number;
  /** Send time of each buzz, by seq. */
  sentAt: number[];
  acks: Array<{ t: number; seq: number; counted: number; closed: number }>;
  stages: Array<{ t: number; act: string | null; open: boolean; nextAt: number | null }>;
}

let cluster: Cluster;
before(async () => {
  cluster = await startCluster(2, { BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0", TICK_MS: String(TICK_MS) });
});
after(async () => {
  await cluster.stop();
});

async function watch(node: RunningServer, index: number, show: string, viewer: string): Promise<Watched> {
  const v = await TestViewer.join(node.wsUrl, show, viewer);
  const w: Watched = { v, node: index, sentAt: [], acks: [], stages: [] };
  v.ws.on("message", (data) => {
    const t = Date.now();
    const f = JSON.parse((data as Buffer).toString()) as Record<string, unknown>;
    if (f.type === "ack") {
      const rejected = f.rejected as Record<string, number>;
      w.acks.push({ t, seq: f.seq as number, counted: f.counted as number, closed: rejected.voting_closed ?? 0 });
    } else if (f.type === "stage") {
      const next = f.next as { at: number } | undefined;
      w.stages.push({ t, act: f.act as string | null, open: f.open as boolean, nextAt: next?.at ?? null });
    }
  });
  return w;
}

async function schedule(node: RunningServer, show: string, body: { act: string; open: boolean }, aheadMs: number): Promise<number> {
  const asked = Date.now() + aheadMs;
  const res = (await admin(node, "POST", `/api/shows/${show}/stage`, { ...body, at: asked })) as { next?: { at: number } };
  const at = res.next?.at;
  assert.ok(at !== undefined, "the answer carries the effective instant");
  assert.equal(at % TICK_MS, 0, "on the aligned tick");
  assert.ok(at >= asked && at < asked + TICK_MS, "rounded up, never earlier than asked");
  return at;
}

/** Every viewer buzzes `act` every few ms until well past `at` and its stage frame; then every buzz is acked. */
async function buzzAcross(ws: Watched[], act: string, at: number, stageSeen: (w: Watched) => boolean): Promise<void> {
  const timer = setInterval(() => {
    for (const w of ws) {
      const t = Date.now(); // read before the send: the server receives the buzz at or after t
      w.sentAt[w.v.buzz(act)] = t;
    }
  }, BUZZ_EVERY_MS);
  try {
    await waitFor(() => Date.now() >= at + 3 * TICK_MS && ws.every(stageSeen), { timeoutMs: 20_000, what: "buzzing across the instant" });
  } finally {
    clearInterval(timer);
  }
  await Promise.all(ws.map((w) => w.v.until(() => w.v.lastAck?.seq === w.v.sentSeq, "every buzz acked", 10_000)));
}

/**
 * Per viewer, the buzzes from seq `from` + 1 on were one run of `first` outcomes then one run of the
 * other (every ack agrees); returns the seq of the last buzz of the first run.
 */
function cutoff(w: Watched, from: number, base: { counted: number; closed: number }, first: "counted" | "closed"): number {
  const last = w.acks.at(-1);
  assert.ok(last);
  const n = last.seq - from;
  const counted = last.counted - base.counted;
  const closed = last.closed - base.closed;
  assert.equal(counted + closed, n, "every buzz counted or voting_closed, nothing else");
  const k = from + (first === "counted" ? counted : closed);
  for (const a of w.acks.filter((x) => x.seq > from)) {
    const firstRun = Math.min(a.seq, k) - from;
    const secondRun = Math.max(0, a.seq - k);
    const got =
      first === "counted" ? [a.counted - base.counted, a.closed - base.closed] : [a.closed - base.closed, a.counted - base.counted];
    assert.deepEqual(got, [firstRun, secondRun], `ack of seq ${a.seq}: one run, then the other (cut at ${k})`);
  }
  return k;
}

function checkInstant(ws: Watched[], at: number, cut: number[], from: number[], what: string): void {
  for (const [i, w] of ws.entries()) {
    const k = cut[i] ?? 0;
    const ackedBefore = Math.max(from[i] ?? 0, ...w.acks.filter((a) => a.t < at).map((a) => a.seq));
    const sentAfter = w.sentAt.findIndex((t, seq) => seq > (from[i] ?? 0) && t !== undefined && t >= at);
    assert.ok(ackedBefore > (from[i] ?? 0), `${what}: viewer ${i} had buzzes acked before the instant`);
    assert.ok(sentAfter > 0, `${what}: viewer ${i} buzzed after the instant`);
    assert.ok(
      ackedBefore <= k,
      `${what}, node ${w.node}: seq ${ackedBefore} was acked before the instant, so received before it: first run`,
    );
    assert.ok(k < sentAfter, `${what}, node ${w.node}: seq ${sentAfter} was sent at/after the instant, so received after it: second run`);
  }
}

/** The stage frame that applied the change: every viewer of both nodes at the instant, within a tick. */
function checkStageFrames(ws: Watched[], at: number, stage: { act: string; open: boolean }): string {
  const times: number[] = [];
  for (const w of ws) {
    const announce = w.stages.find((s) => s.nextAt === at);
    assert.ok(announce && announce.t < at, `node ${w.node}: the scheduled change was announced before its instant`);
    const applied = w.stages.find((s) => s.act === stage.act && s.open === stage.open && s.nextAt === null);
    assert.ok(applied, `node ${w.node}: a stage frame applied the change`);
    assert.ok(applied.t >= at, `node ${w.node}: not before the instant (${applied.t - at} ms)`);
    assert.ok(applied.t <= at + TICK_MS, `node ${w.node}: within a tick of the instant (${applied.t - at} ms)`);
    times.push(applied.t);
  }
  const offsets = times.map((t) => t - at).join(", ");
  assert.ok(Math.max(...times) - Math.min(...times) <= TICK_MS, `both nodes within a tick: ${offsets} ms`);
  return `stage frame ${stage.act}:${String(stage.open)} received at the instant + ${offsets} ms, every viewer`;
}

test("a scheduled close, then a scheduled open, apply on every node at their instant", async (t) => {
  const [n1, n2] = cluster.nodes;
  assert.ok(n1 && n2);
  await openShow(n1, "sched", ["a", "b"]);
  const ws = await Promise.all(
    Array.from({ length: 2 * VIEWERS_PER_NODE }, (_, i) => watch(cluster.nodes[i % 2]!, i % 2, "sched", `v${i}`)),
  );
  await Promise.all(ws.map((w) => w.v.votingOpen("a")));

  // Close, scheduled through node 2, about a second ahead.
  const close = await schedule(n2, "sched", { act: "a", open: false }, 1000);
  await pollUntil(
    () => showState(n1, "sched"),
    (x) => (x as { next?: { at: number } }).next?.at === close,
    "node 1 knows the scheduled change",
  );
  assert.ok(Date.now() < close - 500, "node 1 knew it well before the instant");
  await buzzAcross(ws, "a", close, (w) => w.stages.some((s) => !s.open && s.nextAt === null));
  const kClose = ws.map((w) => cutoff(w, 0, { counted: 0, closed: 0 }, "counted"));
  checkInstant(
    ws,
    close,
    kClose,
    ws.map(() => 0),
    "close",
  );
  t.diagnostic(checkStageFrames(ws, close, { act: "a", open: false }));

  // Open act b, scheduled through node 1.
  const from = ws.map((w) => w.v.sentSeq);
  const base = ws.map((w) => ({ counted: w.acks.at(-1)?.counted ?? 0, closed: w.acks.at(-1)?.closed ?? 0 }));
  const open = await schedule(n1, "sched", { act: "b", open: true }, 1000);
  await buzzAcross(ws, "b", open, (w) => w.stages.some((s) => s.act === "b" && s.open));
  const kOpen = ws.map((w, i) => cutoff(w, from[i] ?? 0, base[i] ?? { counted: 0, closed: 0 }, "closed"));
  checkInstant(ws, open, kOpen, from, "open");
  t.diagnostic(checkStageFrames(ws, open, { act: "b", open: true }));

  // Counts are sacred: live totals on both nodes and the record equal the buzzes acked as counted.
  const acked = {
    a: kClose.reduce((s, k) => s + k, 0),
    b: ws.reduce((s, w, i) => s + (w.v.sentSeq - (kOpen[i] ?? 0)), 0),
  };
  for (const n of cluster.nodes) {
    const s = await pollUntil(
      () => showState(n, "sched"),
      (x) => x.durable?.a === acked.a && x.durable.b === acked.b && x.totals.a === acked.a && x.totals.b === acked.b,
      "live and durable totals equal to the acks",
    );
    assert.deepEqual(s.stage, { act: "b", open: true });
    assert.equal((s as { next?: unknown }).next, undefined, "nothing pending");
  }
  // The stage history: each scheduled change once, stamped with its instant.
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const rows = await cluster.mariadb.query<Array<{ act: string; is_open: number; at_ms: number | string }>>(
    `SELECT act, is_open, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', at) DIV 1000 AS at_ms FROM \`${db}\`.stage_history ` +
      "WHERE show_id = 'sched' ORDER BY version",
  );
  assert.deepEqual(
    rows.slice(-2).map((r) => [r.act, Number(r.is_open), Number(r.at_ms)]),
    [
      ["a", 0, close],
      ["b", 1, open],
    ],
  );
  for (const w of ws) w.v.close();
});

test("the API rounds `at` up to the tick, refuses the past, too soon and too far, and an immediate change cancels", async () => {
  const [n1, n2] = cluster.nodes;
  assert.ok(n1 && n2);
  await openShow(n1, "api", ["a"]);
  const post = (body: unknown) =>
    fetch(`${n1.url}/api/shows/api/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${n1.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  for (const at of [Date.now() - 1000, Date.now() + 100, Date.now() + 25 * 3600 * 1000, 1.5, "soon"]) {
    const res = await post({ act: "a", open: false, at });
    assert.equal(res.status, 400, `at ${String(at)}`);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "bad_request");
  }
  const at = await schedule(n1, "api", { act: "a", open: false }, 5000);
  await pollUntil(
    () => showState(n2, "api"),
    (s) => (s as { next?: { at: number } }).next?.at === at,
    "the schedule on node 2",
  );
  const res = await post({ act: "a", open: true });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { next?: unknown }).next, undefined, "an immediate change cancels the scheduled one");
  await pollUntil(
    () => showState(n2, "api"),
    (s) => (s as { next?: unknown }).next === undefined,
    "the cancel on node 2",
  );
  assert.deepEqual((await showState(n2, "api")).stage, { act: "a", open: true });
});

test("a scheduled close applies at its instant in every worker thread of a node (embedded, supervisor relay)", async (t) => {
  const node = await startServer({ WORKERS: "2", BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0", TICK_MS: String(TICK_MS) });
  try {
    await openShow(node, "threads", ["a"]);
    const ws = await Promise.all(Array.from({ length: 6 }, (_, i) => watch(node, 0, "threads", `w${i}`)));
    await Promise.all(ws.map((w) => w.v.votingOpen("a")));
    const close = await schedule(node, "threads", { act: "a", open: false }, 1000);
    await buzzAcross(ws, "a", close, (w) => w.stages.some((s) => !s.open && s.nextAt === null));
    const k = ws.map((w) => cutoff(w, 0, { counted: 0, closed: 0 }, "counted"));
    checkInstant(
      ws,
      close,
      k,
      ws.map(() => 0),
      "close in workers",
    );
    t.diagnostic(checkStageFrames(ws, close, { act: "a", open: false }));
    const total = k.reduce((sum, x) => sum + x, 0);
    await pollUntil(
      () => showState(node, "threads"),
      (x) => x.totals.a === total,
      "live total equal to the acks",
    );
    for (const w of ws) w.v.close();
  } finally {
    await node.stop();
  }
});
