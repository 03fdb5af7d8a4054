/**
 * Viewer ids against a real server on a real MariaDB. Two ids with lone surrogates (`x\ud800`,
 * `x\udbff`) used to be counted as two viewers while MySQL stored both as `x\ufffd`: one audit row
 * with count 2 (a fake "counted twice"). Now every id that is not well-formed Unicode, holds a
 * control character (C0, DEL, C1) or starts or ends with white space is refused, from a v1 hello, a
 * v2 hello or a token's `sub`, with an error frame and close 4013 `bad_viewer` (reconnect: never),
 * and POST /api/viewer-tokens answers 400: never counted, never in the audit.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE, reconnectRule } from "../shared/codes.ts";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { epochSec, mintHs256 } from "./harness/jwt.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { waitFor } from "./harness/wait.ts";

const SECRET = "viewer-token-secret-0123456789-abcdefgh";
const SHOW = "ids";
const BAD = [
  "x\ud800",
  "x\udbff",
  "\udc00x",
  "a\nb",
  "z\ntotal,act-1,,1000,,\nbuzz,act-1,0,997,n2,p_fake",
  "a\u0000",
  "a\u007f",
  "a\u0085",
  " a",
  "a ",
  "\u00a0a",
  "a\u3000",
];

let db: MariaDb;
let srv: RunningServer;
let tokens: RunningServer;
before(async () => {
  db = await startMariaDb();
  const env = { MYSQL_URL: db.url, TICK_MS: "50", PERSIST_INTERVAL_MS: "200", DEMO_SHOW: "false" };
  [srv, tokens] = await Promise.all([startServer(env), startServer({ ...env, VIEWER_TOKEN_SECRET: SECRET })]);
  await admin(srv, "PUT", `/api/shows/${SHOW}`, { title: "Ids", acts: [{ id: "a1", name: "A1" }] });
  await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act: "a1", open: true });
});
after(async () => {
  for (const s of [srv, tokens]) assert.equal(await s?.stop(), 0);
  await db?.stop();
});

async function expectBadViewer(v: TestViewer, what: string): Promise<void> {
  await v.until(() => v.closeCode !== null || v.welcome !== null, `${what}: close or welcome`);
  assert.equal(v.welcome, null, `${what}: welcomed`);
  assert.equal(await v.closed, CLOSE.bad_viewer.code, what);
  const err = v.frames.find((f) => f.type === "error");
  assert.ok(err?.type === "error" && err.code === "bad_viewer", `${what}: error frame bad_viewer, got ${JSON.stringify(v.frames)}`);
  assert.equal(v.welcome, null, what);
}

/** A v2 hello with the viewer id's UTF-8 bytes as given (the codec would refuse to encode a bad id). */
function v2Hello(show: string, viewer: string): Uint8Array {
  const s = Buffer.from(show);
  const v = Buffer.from(viewer, "utf8");
  return Uint8Array.from([0x01, 0x01, s.length, ...s, v.length, ...v]);
}

type Audit = { acts: Record<string, { live: number | null; record: number; logged: number; match: boolean }> };

test("lone surrogates, control characters, white space at the ends: refused at hello (v1 and v2), never counted, never audited", async () => {
  assert.equal(reconnectRule(CLOSE.bad_viewer.code), "never");
  for (const viewer of BAD) {
    const v = new TestViewer(srv.wsUrl);
    await v.opened;
    v.send({ type: "hello", protocol: 1, show: SHOW, viewer });
    v.buzz("a1"); // right behind the hello: refused with it
    await expectBadViewer(v, `v1 ${JSON.stringify(viewer)}`);
    if (/\p{Cs}/u.test(viewer)) continue; // UTF-8 cannot carry a lone surrogate: v2 never sees one
    const w = new TestViewer(srv.wsUrl, { protocol: 2 });
    await w.opened;
    w.sendRaw(v2Hello(SHOW, viewer));
    await expectBadViewer(w, `v2 ${JSON.stringify(viewer)}`);
  }
  // Two honest viewers whose ids are close to the refused ones count once each.
  for (const viewer of ["x\ud83d\udc1d", "a b"]) {
    const v = await TestViewer.join(srv.wsUrl, SHOW, viewer);
    v.buzz("a1");
    await v.until(() => v.lastAck?.counted === 1, "counted");
    v.ws.close();
  }
  let audit: Audit = { acts: {} };
  await waitFor(
    async () => {
      audit = (await admin(srv, "GET", `/api/shows/${SHOW}/audit`)) as Audit;
      // The route reads the count rows and the audit log in two queries: poll until both have the last batch.
      return audit.acts.a1?.logged === 2 && audit.acts.a1.record === 2;
    },
    { what: "the two honest buzzes in the record and the audit log" },
  );
  assert.deepEqual(audit.acts.a1, { live: 2, record: 2, logged: 2, match: true });
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  const closes = /^buzzcast_closes_total\{code="bad_viewer"\} (\d+)$/m.exec(metrics);
  assert.equal(Number(closes?.[1]), BAD.length + BAD.filter((v) => !/\p{Cs}/u.test(v)).length, "every refusal counted");
});

test("a token whose sub is not an acceptable viewer id: bad_viewer, never counted; the API refuses to mint one (400)", async () => {
  for (const sub of BAD) {
    const token = mintHs256(SECRET, { sub, exp: epochSec(600) });
    const v = new TestViewer(tokens.wsUrl);
    await v.opened;
    v.send({ type: "hello", protocol: 1, show: SHOW, token });
    await expectBadViewer(v, `sub ${JSON.stringify(sub)}`);

    const res = await fetch(`${tokens.url}/api/viewer-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ viewer: sub }),
    });
    assert.equal(res.status, 400, `mint ${JSON.stringify(sub)}`);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "bad_request");
  }
  const ok = (await admin(tokens, "POST", "/api/viewer-tokens", { viewer: "ünï 🐝" })) as { viewer: string };
  assert.equal(ok.viewer, "ünï 🐝");
});
