/**
 * MySQL without memcached, two worker threads (real MariaDB): the workers share the supervisor's one
 * cache (cluster/thread-cache.ts), so they converge exactly as nodes sharing one memcached do: every
 * read of the node gives the same total, every buzz is acknowledged, and acks counted == live ==
 * the record.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { showState } from "./harness/cluster.ts";
import { startMariaDb } from "./harness/mariadb.ts";
import { admin, startServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

test("MYSQL_URL without MEMCACHED_SERVERS, WORKERS=2: the workers agree exactly, every buzz acked, live == record", async (t) => {
  const db = await startMariaDb();
  t.after(() => db.stop());
  const srv = await startServer({ MYSQL_URL: db.url, WORKERS: "2", TICK_MS: "50", PERSIST_INTERVAL_MS: "200" }, 60_000);
  t.after(() => srv.stop("SIGKILL"));
  const viewers = await Promise.all(Array.from({ length: 24 }, (_, i) => TestViewer.join(srv.wsUrl, "demo", `mv${i}`)));
  await Promise.all(viewers.map((v) => v.until(() => v.stage?.open === true && v.stage.act === "act-1", "voting open")));
  for (const v of viewers) v.buzz("act-1");
  await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.counted === 1, "every buzz acked counted", 15_000)));
  // A stage change made through one worker reaches the viewers of both.
  await admin(srv, "POST", "/api/shows/demo/stage", { act: "act-2", open: true });
  await Promise.all(viewers.map((v) => v.until(() => v.stage?.act === "act-2" && v.stage.open, "act-2 open on every worker", 10_000)));
  for (const v of viewers.slice(0, 10)) v.buzz("act-2");
  await Promise.all(viewers.slice(0, 10).map((v) => v.until(() => v.lastAck?.counted === 2, "second buzz acked counted", 15_000)));
  await Promise.all(
    viewers.map((v) => v.until(() => v.totals["act-1"] === 24 && v.totals["act-2"] === 10, "exact totals on every screen", 10_000)),
  );
  // Reads on new connections each (spread over both workers): one answer, and the record agrees.
  const reads: string[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${srv.url}/api/shows/demo`, { headers: { connection: "close" } });
    const { totals } = (await res.json()) as { totals: Record<string, number> };
    reads.push(`${totals["act-1"]}/${totals["act-2"]}`);
  }
  assert.deepEqual(
    reads,
    Array.from({ length: 10 }, () => "24/10"),
    "every read of the node gives the acked totals",
  );
  await waitFor(
    async () => {
      const s = await showState(srv, "demo");
      return s.durable?.["act-1"] === 24 && s.durable["act-2"] === 10;
    },
    { what: "the record holds every acked buzz (24 and 10)" },
  );
  const exit = srv.stop("SIGTERM");
  for (const v of viewers) assert.equal(await v.closed, 1001);
  assert.equal(await exit, 0);
});
