/**
 * Admin changes are linearizable per show, across nodes and across the worker threads of a node:
 * of several changes made at the same moment from one base version, one wins; every other one is
 * answered 409 `conflict` with the current state and is applied nowhere; every process converges to
 * the winner. Real processes, real memcached and MariaDB.
 *
 * The reproduction forces what made two wall-clock versions tie: a change made by a node whose
 * clock ran ahead (written into the record as that node would have), after which every node's next
 * version is "the stored one + 1", so two simultaneous resets computed the same version; MySQL
 * kept the first, both answered 200, and the fleet stayed split on two epochs.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { MemcachedCache } from "../server/cache/memcached-cache.ts";
import { startServer, TEST_ADMIN_TOKEN, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { startCluster, type Cluster } from "./harness/cluster.ts";
import { metricValue, waitFor } from "./harness/wait.ts";

interface Answer {
  status: number;
  body: {
    epoch?: string;
    version?: number;
    stage?: { act: string | null; open: boolean };
    error?: { code?: string };
    current?: { epoch?: string; version?: number };
  };
}

/** One HTTP request on a connection of its own (so requests spread over a node's workers). */
function call(url: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };
    const req = request(url + path, { method, agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer["body"] }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The show state each of `reads` fresh connections to each url answers (a node's workers included). */
async function states(urls: readonly string[], reads: number): Promise<Answer["body"][]> {
  const all = await Promise.all(urls.flatMap((u) => Array.from({ length: reads }, () => call(u, "GET", "/api/shows/demo"))));
  return all.map((a) => a.body);
}

/**
 * Admin changes of the demo show at the same moment, one per request. Checks linearizability:
 * every answer is 200 or 409; the 200s have distinct versions; every 409 is `conflict` with the
 * current state; every process converges to the highest 200 (within the propagation bound).
 * Returns the answers.
 */
async function simultaneous(reqs: ReadonlyArray<{ url: string; path: string; body?: unknown }>, reads: number): Promise<Answer[]> {
  const answers = await Promise.all(reqs.map((r) => call(r.url, "POST", r.path, r.body)));
  reqs.forEach((r, i) => {
    if (answers[i]?.status === 409) conflicts.set(r.url, (conflicts.get(r.url) ?? 0) + 1);
  });
  for (const a of answers) assert.ok(a.status === 200 || a.status === 409, `answered ${a.status} ${JSON.stringify(a.body)}`);
  const won = answers.filter((a) => a.status === 200);
  assert.ok(won.length >= 1, "at least one change wins");
  const last = won.reduce((a, b) => ((a.body.version ?? 0) >= (b.body.version ?? 0) ? a : b));
  const urls = [...new Set(reqs.map((r) => r.url))];
  let seen: Answer["body"][] = [];
  await waitFor(
    async () => {
      seen = await states(urls, reads);
      return seen.every((x) => x.epoch === last.body.epoch && JSON.stringify(x.stage) === JSON.stringify(last.body.stage));
    },
    { what: `every process on the winner's state (epoch ${String(last.body.epoch)})`, timeoutMs: 6000, intervalMs: 100 },
  ).catch((err: unknown) => {
    const got = answers.map((a) => [a.status, a.body.epoch, a.body.stage]);
    throw new Error(`${(err as Error).message}; answers ${JSON.stringify(got)}, seen ${[...new Set(seen.map((x) => x.epoch))].join(",")}`);
  });
  const versions = won.map((a) => a.body.version);
  assert.equal(new Set(versions).size, won.length, `two changes answered 200 with one version: ${JSON.stringify(versions)}`);
  for (const x of seen) assert.equal(x.version, last.body.version, "every process on the winner's version");
  for (const a of answers.filter((x) => x.status === 409)) {
    assert.equal(a.body.error?.code, "conflict");
    assert.equal(typeof a.body.current?.epoch, "string", "a conflict carries the current state");
    assert.equal(typeof a.body.current?.version, "number");
  }
  return answers;
}

/** 409 answers so far, per url (each node counts its own in buzzcast_admin_conflicts_total). */
const conflicts = new Map<string, number>();

/** `urls.length` resets at the same moment; returns the epochs answered 200, each its own. */
async function simultaneousResets(urls: readonly string[], reads: number): Promise<string[]> {
  const won = (
    await simultaneous(
      urls.map((url) => ({ url, path: "/api/shows/demo/reset" })),
      reads,
    )
  ).filter((a) => a.status === 200);
  assert.equal(new Set(won.map((a) => a.body.epoch)).size, won.length, "each winning reset has its own epoch");
  return won.map((a) => String(a.body.epoch));
}

/** As a node whose clock runs a minute ahead would: the stored version is far past every other clock. */
async function skewStoredVersion(c: Cluster, nodes: readonly RunningServer[]): Promise<void> {
  const db = new URL(c.mysqlUrl).pathname.slice(1);
  await c.mariadb.query(`UPDATE \`${db}\`.shows SET version = ?, title = 'skewed' WHERE id = 'demo'`, [Date.now() + 60_000]);
  await waitFor(
    async () => {
      for (const n of nodes) {
        const s = (await (await fetch(`${n.url}/api/shows/demo`)).json()) as { show: { title: string } };
        if (s.show.title !== "skewed") return false;
      }
      return true;
    },
    { what: "every node on the skewed version (record full scan, 5 s)", timeoutMs: 12_000 },
  );
}

let cluster: Cluster;
before(async () => {
  cluster = await startCluster(2);
});
after(async () => {
  await cluster.stop();
});

test("two nodes, two resets at the same moment: one wins, the other is a 409 applied nowhere, the fleet converges", async (t) => {
  const [n1, n2] = cluster.nodes;
  assert.ok(n1 && n2);
  await skewStoredVersion(cluster, [n1, n2]);
  const viewers = await Promise.all([TestViewer.join(n1.wsUrl), TestViewer.join(n2.wsUrl)]);
  const start = viewers.map((v) => v.welcome?.epoch);
  const winners = new Set<string>();
  for (let round = 0; round < 5; round++) {
    for (const e of await simultaneousResets([n1.url, n2.url], 1)) winners.add(e);
  }
  // Stage changes (one immediate, one scheduled on the show clock) at the same moment.
  for (let round = 0; round < 3; round++) {
    await simultaneous(
      [
        { url: n1.url, path: "/api/shows/demo/stage", body: { act: "act-2", open: round % 2 === 0 } },
        { url: n2.url, path: "/api/shows/demo/stage", body: { act: "act-3", open: true, at: Date.now() + 120_000 } },
      ],
      1,
    );
  }
  // Applied nowhere: no viewer on either node ever heard an epoch that did not win.
  for (const v of viewers) {
    const heard = v.frames.flatMap((f) => (f.type === "show" ? [f.epoch] : []));
    for (const e of heard) assert.ok(winners.has(e) || start.includes(e), `a viewer heard epoch ${e}, which lost`);
    v.close();
  }
  for (const n of [n1, n2])
    assert.equal(await metricValue(n, "buzzcast_admin_conflicts_total"), conflicts.get(n.url) ?? 0, "every 409 counted");
  t.diagnostic(`409 conflicts: ${[...conflicts.values()].reduce((a, b) => a + b, 0)} of ${2 * 8} changes`);
  // Not in memcached either: the published show is the last winner.
  const final = await call(n1.url, "GET", "/api/shows/demo");
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const [row] = await cluster.mariadb.query<Array<{ epoch: string }>>(`SELECT epoch FROM \`${db}\`.shows WHERE id = 'demo'`);
  assert.equal(row?.epoch, final.body.epoch, "the record holds the epoch every node shows");
  const mc = new MemcachedCache({ servers: cluster.memcached.address });
  try {
    const published = JSON.parse((await mc.get("bc:show:demo")) ?? "null") as { epoch?: string; version?: number } | null;
    assert.deepEqual([published?.epoch, published?.version], [final.body.epoch, final.body.version], "memcached holds the winner");
  } finally {
    await mc.close();
  }
});

test("WORKERS=2 on memcached + MariaDB: simultaneous resets on one node's workers converge", async () => {
  const node = await cluster.addNode("nw", { WORKERS: "2" });
  await skewStoredVersion(cluster, [node]);
  for (let round = 0; round < 5; round++) await simultaneousResets([node.url, node.url, node.url, node.url], 4);
  await node.stop();
});

test("WORKERS=2 embedded (the supervisor's relay): simultaneous resets on one node's workers converge", async () => {
  const node = await startServer({ WORKERS: "2", TICK_MS: "50" });
  try {
    for (let round = 0; round < 10; round++) await simultaneousResets([node.url, node.url, node.url, node.url], 4);
  } finally {
    await node.stop();
  }
});
