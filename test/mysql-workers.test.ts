/**
 * MySQL without memcached (real MariaDB): the worker threads of one node would each keep live totals
 * in an in-process cache of their own and disagree, so the node runs one thread by default there
 * and refuses an explicit WORKERS > 1 at start (exit 2, like any configuration error). Every read
 * of the node then answers the same, exact totals.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startMariaDb } from "./harness/mariadb.ts";
import { startServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

test("MYSQL_URL without MEMCACHED_SERVERS: WORKERS unset runs one exact thread; WORKERS=2 is refused with exit 2", async (t) => {
  const db = await startMariaDb();
  t.after(() => db.stop());
  // WORKERS unset ("" is ignored): the default is one thread per core, except in this configuration.
  const srv = await startServer({ MYSQL_URL: db.url, WORKERS: "", TICK_MS: "50", PERSIST_INTERVAL_MS: "200" });
  try {
    const viewers = await Promise.all(Array.from({ length: 12 }, (_, i) => TestViewer.join(srv.wsUrl, "demo", `mv${i}`)));
    await Promise.all(viewers.map((v) => v.until(() => v.stage?.open === true, "voting open")));
    for (const v of viewers) v.buzz("act-1");
    await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.counted === 1, "every buzz acked counted", 10_000)));
    // Several reads, on new connections each (spread over every App the node runs): one answer.
    const reads: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${srv.url}/api/shows/demo`, { headers: { connection: "close" } });
      reads.push(((await res.json()) as { totals: Record<string, number> }).totals["act-1"] ?? -1);
    }
    assert.deepEqual(
      reads,
      Array.from({ length: 10 }, () => 12),
      "every read of the node gives the acked total",
    );
    assert.ok(
      srv.logs.some((l) => l.msg === "listening" && l.workers === undefined),
      "one thread (no supervisor)",
    );
  } finally {
    await srv.stop();
  }
  await assert.rejects(
    startServer({ MYSQL_URL: db.url, WORKERS: "2" }),
    (err: Error) => /exited with 2/.test(err.message) && /WORKERS=2/.test(err.message) && /MEMCACHED_SERVERS/.test(err.message),
  );
});
