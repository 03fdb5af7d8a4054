/**
 * Audience size on real servers: each show's viewers (connections that said hello to
 * it), fleet-wide, in totals frames (`watching`, v1 field and v2 tag 2), in GET /api/shows/:show and
 * as buzzcast_show_watching{show} in /metrics; summed over two worker threads (supervisor relay)
 * and over two nodes of two workers each (memcached); it drops when viewers leave.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openShow } from "./harness/cluster.ts";
import { startMemcached } from "./harness/memcached.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

async function watchingMetric(n: RunningServer, show: string): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const m = new RegExp(`^buzzcast_show_watching\\{show="${show}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function httpWatching(n: RunningServer, show: string): Promise<number | undefined> {
  return ((await (await fetch(`${n.url}/api/shows/${show}`)).json()) as { watching?: number }).watching;
}

/** The audience the viewer last heard: v1 frames carry it in every totals frame, v2 when it changes. */
function heard(v: TestViewer): number | undefined {
  if (v.protocol === 2) {
    for (let i = v.v2frames.length - 1; i >= 0; i--) {
      const f = v.v2frames[i]!;
      if ((f.type === "keyframe" || f.type === "delta") && f.watching !== undefined) return f.watching;
    }
    return undefined;
  }
  for (let i = v.frames.length - 1; i >= 0; i--) {
    const f = v.frames[i]!;
    if (f.type === "totals") return f.watching;
  }
  return undefined;
}

/** Every viewer hears `n`, and every node answers it over HTTP and in /metrics. */
async function expectWatching(nodes: RunningServer[], viewers: TestViewer[], show: string, n: number): Promise<void> {
  await Promise.all(viewers.map((v) => v.until(() => heard(v) === n, `watching ${n} in totals frames (heard ${heard(v)})`, 10_000)));
  for (const node of nodes) {
    await waitFor(async () => (await httpWatching(node, show)) === n, { what: `GET /api/shows/${show} watching ${n} on ${node.port}` });
    await waitFor(async () => (await watchingMetric(node, show)) === n, { what: `buzzcast_show_watching ${n} on ${node.port}` });
  }
}

test("two workers: the audience is summed over both threads and drops when viewers leave", async (t) => {
  const srv = await startServer({ WORKERS: "2", TICK_MS: "50" });
  t.after(() => srv.stop());
  await openShow(srv, "aud", ["a"]);
  await openShow(srv, "other", ["x"]);
  const viewers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => TestViewer.join(srv.wsUrl, "aud", `v${i}`, { protocol: i % 3 === 0 ? 2 : 1 })),
  );
  const elsewhere = await Promise.all(Array.from({ length: 4 }, (_, i) => TestViewer.join(srv.wsUrl, "other", `o${i}`)));
  await expectWatching([srv], viewers, "aud", 30);
  await expectWatching([srv], elsewhere, "other", 4);
  for (const v of viewers.slice(0, 12)) v.close();
  await expectWatching([srv], viewers.slice(12), "aud", 18);
  for (const v of [...viewers, ...elsewhere]) v.close();
});

test("two nodes of two workers over memcached: one fleet-wide audience on every node", async (t) => {
  const mc = await startMemcached();
  t.after(() => mc.stop());
  const env = { MEMCACHED_SERVERS: mc.address, TICK_MS: "50", WORKERS: "2" };
  const nodes: RunningServer[] = [];
  t.after(() => Promise.all(nodes.map((n) => n.stop())));
  nodes.push(await startServer({ ...env, NODE_ID: "aud-1" }));
  nodes.push(await startServer({ ...env, NODE_ID: "aud-2" }));
  await openShow(nodes[0]!, "aud", ["a"]);
  const join = (n: RunningServer, k: number, tag: string) =>
    Promise.all(Array.from({ length: k }, (_, i) => TestViewer.join(n.wsUrl, "aud", `${tag}${i}`, { protocol: i % 2 === 0 ? 2 : 1 })));
  const one = await join(nodes[0]!, 10, "a");
  const two = await join(nodes[1]!, 15, "b");
  await expectWatching(nodes, [...one, ...two], "aud", 25);
  for (const v of two.slice(0, 5)) v.close();
  await expectWatching(nodes, [...one, ...two.slice(5)], "aud", 20);
  for (const v of [...one, ...two]) v.close();
});

test("a show nobody watches: 0 in the HTTP state and in /metrics", async (t) => {
  const srv = await startServer({ TICK_MS: "50" });
  t.after(() => srv.stop());
  await openShow(srv, "empty", ["a"]);
  await waitFor(async () => (await httpWatching(srv, "empty")) === 0, { what: "watching 0 for a show nobody watches" });
  assert.equal(await watchingMetric(srv, "empty"), 0);
});
