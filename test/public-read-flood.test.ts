/**
 * Public reads never starve counting or producers. A real node on a real MariaDB, an act with
 * ROWS audit rows, and 64 concurrent public callers hammering GET /api/shows/:show and the public
 * timeline with every interval and epoch they like. While that flood runs: readiness stays 200 on
 * every probe, a producer's stage change succeeds, and a viewer's buzz is acknowledged and reaches
 * the record (a record batch commits), with no record error. The bounds that make it so
 * (public-reads.ts, the record's public pool) are also checked one by one: the per-address limit
 * answers 429 with a JSON error and Retry-After, past epochs are admin-only, odd intervals are
 * refused, and every refusal is counted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const SHOW = "big";
const ROWS = 300_000;
const CALLERS = 64;

let db: MariaDb;
let node: RunningServer;
let epoch = "";

before(async () => {
  db = await startMariaDb();
  node = await startServer({
    MYSQL_URL: db.url,
    TICK_MS: "50",
    PERSIST_INTERVAL_MS: "200",
    DEMO_SHOW: "false",
    PUBLIC_READ_RATE_PER_IP: "0",
  });
  await admin(node, "PUT", `/api/shows/${SHOW}`, { title: "Big", acts: ["a1", "a2"].map((id) => ({ id, name: id })) });
  await admin(node, "POST", `/api/shows/${SHOW}/stage`, { act: "a1", open: true });
  epoch = ((await admin(node, "GET", `/api/shows/${SHOW}`)) as { epoch: string }).epoch;
  // ROWS audit rows for a1 (as other nodes' `unlimited` batches would leave them) and their count row.
  const dbName = new URL(db.url).pathname.slice(1);
  const t0 = Date.now() - ROWS;
  await db.query(
    `INSERT INTO ${dbName}.audit_interval (show_id, epoch, act, viewer, node, batch_seq, at_ms, count) ` +
      `SELECT ?, ?, 'a1', CONCAT('v:', seq), 'seed', 1, ? + seq, 1 FROM ${dbName}.seq_1_to_${ROWS}`,
    [SHOW, epoch, t0],
  );
  await db.query(
    `INSERT INTO ${dbName}.counts (show_id, epoch, act, node, count, batch_seq, updated_at) VALUES (?, ?, 'a1', 'seed', ?, 1, UTC_TIMESTAMP(3))`,
    [SHOW, epoch, ROWS],
  );
});

after(async () => {
  assert.equal(await node?.stop(), 0);
  await db?.stop();
});

async function metric(name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

test("64 concurrent public reads over a 300k-row act: readiness stays 200, a stage change and a record batch complete", async () => {
  const errorsBefore = await metric("buzzcast_record_errors_total");
  let flooding = true;
  let answered = 0;
  const statuses = new Map<number, number>();
  const caller = async (i: number): Promise<void> => {
    const floodUntil = Date.now() + 60_000; // bounded whatever happens
    for (let n = 0; flooding && Date.now() < floodUntil; n++) {
      const interval = 100 + ((i * 7919 + n * 104_729) % 3_599_900); // a different interval almost every time
      const pick = n % 4;
      const path =
        pick === 0
          ? `/api/shows/${SHOW}`
          : pick === 1
            ? `/api/shows/${SHOW}/timeline?act=a1&intervalMs=${interval}`
            : pick === 2
              ? `/api/shows/${SHOW}/timeline?act=a1&intervalMs=1000`
              : `/api/shows/${SHOW}/timeline?act=a1&epoch=e${i}x${n}`;
      const res = await fetch(node.url + path).catch(() => null);
      if (res) {
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
      answered++;
    }
  };
  const readiness: Array<{ status: number; body: string }> = [];
  const prober = (async () => {
    while (flooding) {
      const res = await fetch(`${node.url}/readyz`);
      readiness.push({ status: res.status, body: await res.text() });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const callers = Array.from({ length: CALLERS }, (_, i) => caller(i));
  try {
    await waitFor(() => answered >= CALLERS, { what: "the flood under way", timeoutMs: 30_000 });

    // A producer's change while the flood runs: answered 200 (admin() throws otherwise).
    await admin(node, "POST", `/api/shows/${SHOW}/stage`, { act: "a2", open: true });
    // A viewer's buzz while the flood runs: acknowledged, then in the record (a batch committed).
    const v = await TestViewer.join(node.wsUrl, SHOW, "flood-viewer");
    await v.until(() => v.stage?.act === "a2" && v.stage.open, "a2 open");
    v.send({ type: "buzz", act: "a2", seq: 1 });
    await v.until(() => v.lastAck !== null && v.lastAck.counted >= 1, "the buzz acknowledged as counted");
    await waitFor(
      async () => {
        const audit = (await admin(node, "GET", `/api/shows/${SHOW}/audit`)) as { acts: Record<string, { record: number }> };
        return audit.acts.a2?.record === 1;
      },
      { what: "the buzz in the record", timeoutMs: 30_000 },
    );
    assert.equal(flooding, true);
    v.ws.close();
  } finally {
    flooding = false;
    await Promise.all(callers);
    await prober;
  }
  assert.ok(answered > CALLERS, `the flood ran: ${answered} public reads, statuses ${JSON.stringify([...statuses])}`);
  const bad = readiness.filter((r) => r.status !== 200);
  assert.deepEqual(bad, [], `readiness stayed 200 on all ${readiness.length} probes`);
  assert.equal(await metric("buzzcast_record_errors_total"), errorsBefore, "no record write failed");
});

test("public read bounds: per-address 429 with JSON and Retry-After, past epochs admin-only, fixed intervals; each counted", async () => {
  const limited = await startServer({ MYSQL_URL: db.url, DEMO_SHOW: "false", PUBLIC_READ_RATE_PER_IP: "1" });
  try {
    const codes: number[] = [];
    let refusal: Response | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${limited.url}/api/shows/${SHOW}`);
      codes.push(res.status);
      if (res.status === 429) refusal = res;
      else await res.arrayBuffer();
    }
    assert.ok(refusal, `over the burst (2 at 1/s) a 429: ${codes.join(",")}`);
    assert.match(refusal.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    const body = (await refusal.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "rate_limited");
    assert.equal(typeof body.error.message, "string");
    const adminRes = await fetch(`${limited.url}/api/shows/${SHOW}`, { headers: { authorization: `Bearer ${limited.adminToken}` } });
    assert.equal(adminRes.status, 200, "admin callers are not limited");
    assert.equal(
      await metricOf(limited, "buzzcast_public_reads_refused_total", '{reason="rate_limited"}'),
      codes.filter((c) => c === 429).length,
    );
  } finally {
    assert.equal(await limited.stop(), 0);
  }

  const past = await fetch(`${node.url}/api/shows/${SHOW}/timeline?act=a1&epoch=old1`);
  assert.equal(past.status, 401);
  assert.equal(((await past.json()) as { error: { code: string } }).error.code, "unauthorized");
  const pastAdmin = await fetch(`${node.url}/api/shows/${SHOW}/timeline?act=a1&epoch=old1`, {
    headers: { authorization: `Bearer ${node.adminToken}` },
  });
  assert.equal(pastAdmin.status, 200, "an admin reads an earlier epoch");
  const odd = await fetch(`${node.url}/api/shows/${SHOW}/timeline?act=a1&intervalMs=1234`);
  assert.equal(odd.status, 400);
  assert.match(((await odd.json()) as { error: { message: string } }).error.message, /one of .*1000/);
  const oddAdmin = await fetch(`${node.url}/api/shows/${SHOW}/timeline?act=a1&intervalMs=1234`, {
    headers: { authorization: `Bearer ${node.adminToken}` },
  });
  assert.equal(oddAdmin.status, 200, "an admin asks any interval");
  for (const [reason, res] of [
    ["past_epoch", past],
    ["interval", odd],
  ] as const) {
    assert.ok(res.status >= 400);
    assert.ok((await metric("buzzcast_public_reads_refused_total", `{reason="${reason}"}`)) >= 1, `${reason} counted`);
  }
});

async function metricOf(srv: RunningServer, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}
