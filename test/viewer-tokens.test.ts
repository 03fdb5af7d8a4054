/**
 * Signed viewer tokens against a real server process: every bad token is refused with an error
 * frame and close 4012 `unauthorized`, counted by reason in /metrics; both rotation secrets are
 * accepted; the viewer id is the token's `sub`; a buzz before the token is verified gets
 * hello_required; POST /api/viewer-tokens mints usable tokens; without a secret nothing changes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { mintHs256, unsecuredToken } from "./harness/jwt.ts";
import { encodeText } from "../bench/generator/ws-frame.ts";
import { CLOSE, reconnectRule } from "../shared/codes.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

const NEW = "new-secret-0123456789-0123456789-abcdef";
const OLD = "old-secret-0123456789-0123456789-abcdef";
const OTHER = "not-ours-0123456789-0123456789-abcdefgh";

let srv: RunningServer;
let plain: RunningServer;
before(async () => {
  [srv, plain] = await Promise.all([startServer({ VIEWER_TOKEN_SECRET: `${NEW},${OLD}`, TICK_MS: "50" }), startServer({ TICK_MS: "50" })]);
});
after(async () => {
  assert.equal(await srv.stop(), 0);
  assert.equal(await plain.stop(), 0);
});

const now = () => Math.floor(Date.now() / 1000);

/** A token as a broadcaster's backend mints it (HS256). */
function mint(secret: string, claims: { sub?: string; show?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const { sub = "viewer-1", exp = now() + 600, ...rest } = claims;
  return Promise.resolve(mintHs256(secret, { ...rest, sub, exp }));
}

async function hello(server: RunningServer, fields: Record<string, unknown>): Promise<TestViewer> {
  const v = new TestViewer(server.wsUrl);
  await v.opened;
  v.send({ type: "hello", protocol: 1, show: "demo", ...fields });
  await v.until(() => v.welcome !== null || v.closeCode !== null, "welcome or close");
  return v;
}

async function rejections(): Promise<Record<string, number>> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^buzzcast_token_rejections_total\{reason="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function expectRefused(v: TestViewer): Promise<void> {
  assert.equal(await v.closed, CLOSE.unauthorized.code);
  const err = v.frames.find((f) => f.type === "error");
  assert.ok(err?.type === "error" && err.code === "unauthorized", `error frame unauthorized, got ${JSON.stringify(v.frames)}`);
  assert.equal(v.welcome, null);
}

test("bad tokens: 4012 unauthorized with an error frame, counted by reason; the reconnect rule asks for a fresh token", async () => {
  assert.equal(reconnectRule(CLOSE.unauthorized.code), "fresh_token");
  const good = await mint(NEW, { sub: "forger-target" });
  const [h] = good.split(".");
  const forgedPayload = Buffer.from(JSON.stringify({ sub: "someone-else", exp: now() + 600 })).toString("base64url");
  const cases: Array<[string, Record<string, unknown>]> = [
    ["missing", { viewer: "x" }],
    ["malformed", { token: "not-a-jwt" }],
    ["malformed", { token: unsecuredToken({ sub: "v", exp: now() + 60 }) }], // alg none
    ["malformed", { token: mintHs256(NEW, { sub: "no-exp" }) }],
    ["bad_signature", { token: `${h}.${forgedPayload}.${good.split(".")[2]}` }], // forged payload
    ["bad_signature", { token: await mint(OTHER) }], // wrong secret
    ["expired", { token: await mint(OLD, { exp: now() - 60 }) }],
    ["not_yet_valid", { token: await mint(NEW, { nbf: now() + 600 }) }],
    ["wrong_show", { token: await mint(NEW, { show: "another-show" }) }],
  ];
  const before = await rejections();
  const expected: Record<string, number> = { ...before };
  for (const [reason, fields] of cases) {
    await expectRefused(await hello(srv, fields));
    expected[reason] = (expected[reason] ?? 0) + 1;
  }
  assert.deepEqual(await rejections(), expected);
  for (const reason of ["missing", "malformed", "bad_signature", "expired", "not_yet_valid", "wrong_show"]) assert.ok(reason in expected);
});

test("rotation: tokens of either configured secret are accepted; the viewer id is `sub`, not `viewer`", async () => {
  await admin(srv, "POST", "/api/shows/demo/reset");
  const a = await hello(srv, { token: await mint(NEW, { sub: "alice", show: "demo" }), viewer: "mallory" });
  const b = await hello(srv, { token: await mint(OLD, { sub: "alice" }), viewer: "bob" });
  const c = await hello(srv, { token: await mint(OLD, { sub: "carol" }), viewer: "mallory" });
  for (const v of [a, b, c]) assert.ok(v.welcome, "welcomed");
  const act = a.welcome!.stage.act!;
  for (const v of [a, b, c]) await v.votingOpen(act);
  a.buzz(act);
  await a.until(() => a.lastAck?.seq === 1, "ack a");
  b.buzz(act);
  c.buzz(act);
  await b.until(() => b.lastAck?.seq === 1, "ack b");
  await c.until(() => c.lastAck?.seq === 1, "ack c");
  assert.equal(a.lastAck!.last, "counted");
  assert.equal(b.lastAck!.last, "duplicate", "same sub through the old secret: the same viewer, whatever `viewer` says");
  assert.equal(c.lastAck!.last, "counted", "another sub with the same `viewer` field: another viewer");
  for (const v of [a, b, c]) v.close();
});

test("a buzz in the same packet as the hello is handled after the token is verified: it counts", async () => {
  const v = new TestViewer(srv.wsUrl);
  await v.opened;
  const token = await mint(NEW, { sub: "eager" });
  const bytes = Buffer.concat([
    encodeText(JSON.stringify({ type: "hello", protocol: 1, show: "demo", token })),
    encodeText(JSON.stringify({ type: "buzz", act: "act-1", seq: 1 })),
  ]);
  (v.ws as unknown as { _socket: Socket })._socket.write(bytes);
  await v.until(() => v.lastAck?.seq === 1, "the ack of the pipelined buzz");
  assert.ok(v.welcome, "welcomed");
  assert.equal(v.lastAck?.counted, 1, `the verified viewer's buzz counted: ${JSON.stringify(v.lastAck)}`);
  v.close();
});

test("POST /api/viewer-tokens mints tokens the server accepts; bounds checked; 409 without a secret", async () => {
  const minted = (await admin(srv, "POST", "/api/viewer-tokens", { viewer: "dave", show: "demo", ttlSec: 120 })) as {
    token: string;
    viewer: string;
    exp: number;
  };
  assert.equal(minted.viewer, "dave");
  assert.ok(Math.abs(minted.exp - (now() + 120)) <= 2);
  const v = await hello(srv, { token: minted.token });
  assert.ok(v.welcome, "minted token accepted");
  v.close();
  const anon = (await admin(srv, "POST", "/api/viewer-tokens", {})) as { token: string; viewer: string; exp: number };
  assert.match(anon.viewer, /^v_[0-9a-f]{32}$/);
  assert.ok(Math.abs(anon.exp - (now() + 3600)) <= 2, "default ttl 3600 s");
  const limited = (await admin(srv, "POST", "/api/viewer-tokens", { show: "elsewhere" })) as { token: string };
  await expectRefused(await hello(srv, { token: limited.token }));

  const post = (server: RunningServer, body: unknown, auth = true) =>
    fetch(`${server.url}/api/viewer-tokens`, {
      method: "POST",
      headers: auth ? { authorization: `Bearer ${server.adminToken}` } : {},
      body: JSON.stringify(body),
    });
  assert.equal((await post(srv, {}, false)).status, 401);
  for (const bad of [{ ttlSec: 0 }, { ttlSec: 8 * 24 * 3600 }, { viewer: "" }, { show: "no spaces" }]) {
    const res = await post(srv, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "bad_request");
  }
  const off = await post(plain, {});
  assert.equal(off.status, 409);
  assert.equal(((await off.json()) as { error: { code: string } }).error.code, "tokens_disabled");
});

test("without VIEWER_TOKEN_SECRET nothing changes: anonymous viewer ids, a token field is ignored", async () => {
  const v = await hello(plain, { viewer: "anon-1", token: "anything" });
  assert.ok(v.welcome, "welcomed without a token check");
  v.close();
  const text = await (await fetch(`${plain.url}/metrics`)).text();
  assert.doesNotMatch(text, /buzzcast_token_rejections_total/);
});
