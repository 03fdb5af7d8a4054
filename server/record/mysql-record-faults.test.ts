/**
 * MysqlRecord under faults on a real MariaDB (one instance for this file, a fresh database per
 * test): deadlocks, lock waits, a COMMIT whose reply is lost, nothing listening, a hung server
 * (SIGSTOP), a restart.
 */
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { describe, test } from "node:test";
import { mariaDbFixture } from "./mysql-fixture.ts";
import { RecordError, type CountRow } from "./record.ts";

const fx = mariaDbFixture();
const open = fx.open;

const dbName = (url: string) => new URL(url).pathname.slice(1);
const isCode = (code: string) => (e: unknown) => e instanceof RecordError && e.code === code;

/** Fails with "hung" if `p` has not settled within `ms` (a bound on hanging, not a speed test). */
async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`hung for ${ms} ms`)), ms)));
  try {
    return await Promise.race([Promise.allSettled([p]).then(([r]) => r as PromiseSettledResult<T>), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Until InnoDB reports a transaction waiting for a row lock in `dbname`.counts. */
async function waitForCountsLockWait(dbname: string): Promise<void> {
  // The engine's status text; information_schema.innodb_trx was seen reporting such a waiter as RUNNING.
  const marker = `\`${dbname}\`.\`counts\``;
  let status = "";
  for (let i = 0; i < 300; i++) {
    status = (await fx.db.query<{ Status: string }[]>("SHOW ENGINE INNODB STATUS"))[0]?.Status ?? "";
    const waiting = status.split("TRX HAS BEEN WAITING").slice(1);
    if (waiting.some((w) => w.split("\n").slice(0, 3).join(" ").includes(marker))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the record's transaction never waited for the lock:\n${status}`);
}

/**
 * A loopback TCP proxy in front of MariaDB. Once armed, the first client packet containing
 * COMMIT is forwarded, everything the server answers afterwards is dropped, and the client
 * connection is reset after `resetAfterMs`: a COMMIT that happened but whose reply was lost.
 */
async function startReplyEater(targetPort: number, resetAfterMs = 300) {
  let armed = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    let eating = false;
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (buf: Buffer) => {
      upstream.write(buf);
      if (armed && !eating && buf.includes("COMMIT")) {
        armed = false;
        eating = true;
        setTimeout(() => client.resetAndDestroy(), resetAfterMs);
      }
    });
    upstream.on("data", (buf: Buffer) => {
      if (!eating) client.write(buf);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    arm: () => void (armed = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("MysqlRecord faults on MariaDB", () => {
  test("a deadlock victim is retried and applied exactly once", async () => {
    const url = fx.db.freshUrl();
    const r = open(url);
    await r.migrate();
    const row = (act: string, delta: number): CountRow => ({ show: "s", epoch: "e", act, delta });
    await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row("k1", 1), row("k2", 1)] });
    const other = await fx.db.connect(dbName(url));
    try {
      await other.query("CREATE TABLE ballast (id INT PRIMARY KEY) ENGINE=InnoDB");
      await other.query("START TRANSACTION");
      // Many rows changed: InnoDB picks the lighter transaction (the record's) as the victim.
      await other.query(`INSERT INTO ballast VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i})`).join(",")}`);
      await other.query("SELECT count FROM counts WHERE show_id = 's' AND epoch = 'e' AND act = 'k2' AND node = 'n1' FOR UPDATE");
      const pending = r.persistCounts({ node: "n1", batchSeq: 2, rows: [row("k2", 10), row("k1", 10)] });
      await waitForCountsLockWait(dbName(url));
      await other.query("SELECT count FROM counts WHERE show_id = 's' AND epoch = 'e' AND act = 'k1' AND node = 'n1' FOR UPDATE");
      await other.query("COMMIT");
      await pending;
    } finally {
      await other.end();
    }
    assert.ok(r.counters.lockRetries >= 1, "the deadlock was retried");
    assert.deepEqual(Object.fromEntries(await r.countTotals("s", "e")), { k1: 11, k2: 11 });
  });

  test("a lock wait timeout is retried, then the batch applies once", async () => {
    const url = fx.db.freshUrl();
    await open(url).migrate(); // default timeouts: schema changes may be slow on a busy machine
    const r = open(url, { queryTimeoutMs: 2000 }); // InnoDB lock wait: 1 s
    const other = await fx.db.connect(dbName(url));
    try {
      await other.query("INSERT INTO node_batches VALUES ('n1', 0, UTC_TIMESTAMP(3))");
      await other.query("START TRANSACTION");
      await other.query("SELECT * FROM node_batches WHERE node = 'n1' FOR UPDATE");
      const pending = r.persistCounts({ node: "n1", batchSeq: 1, rows: [{ show: "s", epoch: "e", act: "a", delta: 3 }] });
      while (r.counters.lockRetries === 0) await new Promise((res) => setTimeout(res, 50));
      await other.query("COMMIT");
      await pending;
    } finally {
      await other.end();
    }
    assert.deepEqual(Object.fromEntries(await r.countTotals("s", "e")), { a: 3 });
  });

  test("a COMMIT whose reply was lost: the same batch sent again is not counted twice", async () => {
    const direct = fx.db.freshUrl();
    const viaProxy = new URL(direct);
    const proxy = await startReplyEater(fx.db.port);
    viaProxy.port = String(proxy.port);
    try {
      // One attempt: the failure reaches the caller, which retries the batch as the writer does.
      const r = open(viaProxy.toString(), { maxAttempts: 1, queryTimeoutMs: 5000 });
      await r.migrate();
      const batch = { node: "n1", batchSeq: 1, rows: [{ show: "s", epoch: "e", act: "a", delta: 9 }] };
      proxy.arm();
      await assert.rejects(r.persistCounts(batch), isCode("unreachable"));
      const committed = await fx.db.query<{ count: number }[]>(`SELECT count FROM \`${dbName(direct)}\`.counts`);
      assert.deepEqual(
        committed.map((c) => Number(c.count)),
        [9],
        "the COMMIT was applied although its reply was lost",
      );
      await r.persistCounts(batch);
      assert.deepEqual(Object.fromEntries(await r.countTotals("s", "e")), { a: 9 });
      assert.equal(await r.lastBatchSeq("n1"), 1);
    } finally {
      await proxy.close();
    }
  });
  test("nothing listening: unreachable, without retries", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    const r = open(`mysql://u:p@127.0.0.1:${port}/buzzcast_x`, { connectTimeoutMs: 1000 });
    await assert.rejects(r.ping(), isCode("unreachable"));
    await assert.rejects(r.migrate(), isCode("unreachable"));
  });

  test("MariaDB hung (SIGSTOP): calls reject as unreachable within the bounds, then recover", async (t) => {
    const url = fx.db.freshUrl();
    await open(url).migrate(); // default timeouts: schema changes may be slow on a busy machine
    const r = open(url, { poolSize: 2, connectTimeoutMs: 1000, queryTimeoutMs: 1500 });
    const row = { show: "s", epoch: "e", act: "a", delta: 2 };
    await r.persistCounts({ node: "n1", batchSeq: 1, rows: [row] });
    fx.db.pause();
    try {
      const started = Date.now();
      const calls = Promise.allSettled([
        r.persistCounts({ node: "n1", batchSeq: 2, rows: [row] }),
        r.ping(),
        r.countTotals("s", "e"),
        r.lastBatchSeq("n1"),
        r.loadShow("s"),
      ]);
      const settled = await settlesWithin(calls, 20_000);
      assert.equal(settled.status, "fulfilled");
      for (const s of (settled as PromiseFulfilledResult<PromiseSettledResult<unknown>[]>).value) {
        assert.equal(s.status, "rejected");
        assert.ok(isCode("unreachable")(s.reason), String(s.reason));
      }
      t.diagnostic(`all calls rejected after ${Date.now() - started} ms (connect 1000, query 1500, pool 2)`);
    } finally {
      fx.db.resume();
    }
    await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row] });
    await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row] });
    assert.equal((await r.countTotals("s", "e")).get("a"), 4);
    assert.equal(await r.lastBatchSeq("n1"), 2);
  });

  test("MariaDB restarted: the next calls succeed on new connections", async (t) => {
    const r = open(fx.db.freshUrl(), { poolSize: 2 });
    await r.migrate();
    const row = { show: "s", epoch: "e", act: "a", delta: 1 };
    await Promise.all([r.persistCounts({ node: "n1", batchSeq: 1, rows: [row] }), r.ping()]);
    await fx.db.restart();
    await r.persistCounts({ node: "n1", batchSeq: 2, rows: [row] });
    assert.equal((await r.countTotals("s", "e")).get("a"), 2);
    t.diagnostic(`connection retries: ${r.counters.connectionRetries}`);
  });
});
