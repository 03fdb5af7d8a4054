/**
 * Protocol v2 end to end, on a real server process and real `ws` clients: negotiation, the act
 * table, deltas and keyframes, v1 and v2 viewers of one show agreeing, and bad binary input.
 * (The v1 suites run over v2 too: counting, bad-input, admin-stage, slow-consumer, drain.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { CLOSE } from "../shared/codes.ts";
import { FRAME, V2_SUBPROTOCOL, encodeClientFrame, type V2Delta, type V2Keyframe, type V2Welcome } from "../shared/v2/index.ts";
import { mintHs256 } from "./harness/jwt.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({ TICK_MS: "50", HELLO_TIMEOUT_MS: "2000" });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const v2 = { protocol: 2 } as const;
const acts = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `act-${i}`, name: `Act ${i}` }));

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : 0;
}

async function total(show: string, act: string): Promise<number> {
  const s = (await (await fetch(`${srv.url}/api/shows/${show}`)).json()) as { totals: Record<string, number> };
  return s.totals[act] ?? -1;
}

/** The Sec-WebSocket-Protocol the server answers to an upgrade offering `offer` (undefined: none). */
async function answeredSubprotocol(offer: string | undefined): Promise<string | undefined> {
  const url = new URL(srv.wsUrl);
  const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": Buffer.from("0123456789abcdef").toString("base64"),
        ...(offer === undefined ? {} : { "sec-websocket-protocol": offer }),
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.headers);
    });
    req.on("response", (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
  const p = headers["sec-websocket-protocol"];
  return Array.isArray(p) ? p.join(",") : p;
}

test("negotiation: buzzcast.v2 offered -> answered with it; nothing or only unknown offered -> v1, no subprotocol", async () => {
  assert.equal(await answeredSubprotocol(V2_SUBPROTOCOL), V2_SUBPROTOCOL);
  assert.equal(await answeredSubprotocol(`chat, ${V2_SUBPROTOCOL}`), V2_SUBPROTOCOL);
  assert.equal(await answeredSubprotocol(undefined), undefined);
  assert.equal(await answeredSubprotocol("buzzcast.v9, chat"), undefined);
  assert.equal(await answeredSubprotocol("buzzcast.v2x"), undefined);
  // The v2 viewer refuses any text frame (the harness throws on one), the v1 viewer any binary one.
  const b = await TestViewer.join(srv.wsUrl, "demo", undefined, v2);
  const a = await TestViewer.join(srv.wsUrl, "demo");
  assert.equal(b.ws.protocol, V2_SUBPROTOCOL);
  assert.equal(a.ws.protocol, "");
  await b.until(() => b.v2frames.filter((f) => f.type === "keyframe" || f.type === "delta").length >= 2, "v2 totals frames");
  assert.ok(a.frames.length > 0);
  assert.equal(await metric('buzzcast_connections_by_protocol{protocol="v2"}'), 1);
  assert.equal(await metric('buzzcast_connections_by_protocol{protocol="v1"}'), 1);
  a.close();
  b.close();
  await Promise.all([a.closed, b.closed]);
});

test("the welcome carries the act table; totals follow it by index; the stage names an index", async () => {
  await admin(srv, "PUT", "/api/shows/table", { title: "Table", acts: acts(4) });
  await admin(srv, "POST", "/api/shows/table/stage", { act: "act-2", open: true });
  const v = await TestViewer.join(srv.wsUrl, "table", "tv", v2);
  const w = v.v2frames[0] as V2Welcome;
  assert.equal(w.type, "welcome");
  assert.deepEqual(w.show, { id: "table", title: "Table", acts: acts(4) });
  assert.deepEqual(w.stage, { act: 2, open: true });
  assert.deepEqual(w.totals, [0, 0, 0, 0]);
  assert.equal(w.policy, "once");
  assert.equal(w.tickMs, 50);
  v.buzz("act-2");
  await v.until(() => v.totals["act-2"] === 1, "act-2 at 1");
  assert.deepEqual(v.lastAck ?? (await v.until(() => v.lastAck !== null, "ack"), v.lastAck), {
    type: "ack",
    seq: 1,
    counted: 1,
    rejected: {},
    last: "counted",
  });
  v.close();
});

test("a v1 viewer and a v2 viewer of one show see the same totals under the same seq", async () => {
  await admin(srv, "PUT", "/api/shows/mixed", { title: "Mixed", acts: acts(10) });
  await admin(srv, "POST", "/api/shows/mixed/stage", { act: "act-7", open: true });
  const one = await TestViewer.join(srv.wsUrl, "mixed");
  const two = await TestViewer.join(srv.wsUrl, "mixed", undefined, v2);
  const buzzers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => TestViewer.join(srv.wsUrl, "mixed", `mx-${i}`, i % 2 ? v2 : undefined)),
  );
  // One buzz every ~1.5 ticks: most ticks change one act (deltas), at most one a second is a keyframe.
  for (const b of buzzers) {
    b.buzz("act-7");
    await new Promise((r) => setTimeout(r, 75));
  }
  await Promise.all([one, two].map((v) => v.until(() => v.totals["act-7"] === 20, "total 20", 10_000)));
  // A heartbeat or two more, so several seqs were seen by both.
  const last = two.totalsFrames().at(-1)!.seq;
  await Promise.all([one, two].map((v) => v.until(() => v.totalsFrames().some((f) => f.seq >= last + 2), "two more frames")));
  const bySeq = new Map(one.totalsFrames().map((f) => [f.seq, f.totals]));
  let compared = 0;
  for (const f of two.totalsFrames()) {
    const t = bySeq.get(f.seq);
    if (!t) continue;
    assert.deepEqual(f.totals, t, `seq ${f.seq}`);
    compared++;
  }
  assert.ok(compared >= 3, `compared ${compared} frames`);
  assert.equal(two.gaps, 0);
  // Deltas carry only the act that changed (index 7), or nothing at all (a heartbeat).
  const deltas = two.v2frames.filter((f): f is V2Delta => f.type === "delta");
  assert.ok(deltas.some((d) => d.changes.length > 0));
  for (const d of deltas) for (const [i] of d.changes) assert.equal(i, 7);
  for (const v of [one, two, ...buzzers]) v.close();
});

test("the v2 welcome carries the audience (extension tag 1) once the server knows it", async () => {
  await admin(srv, "PUT", "/api/shows/aud", { title: "Audience", acts: acts(2) });
  const a = await TestViewer.join(srv.wsUrl, "aud", "aud-a", v2);
  await a.until(
    () => a.v2frames.some((f) => (f.type === "keyframe" || f.type === "delta") && (f.watching ?? 0) >= 1),
    "a frame with watching",
  );
  const b = await TestViewer.join(srv.wsUrl, "aud", "aud-b", v2);
  const w = b.v2frames[0] as V2Welcome;
  assert.equal(w.type, "welcome");
  assert.ok((w.watching ?? 0) >= 1, `welcome watching: ${String(w.watching)}`);
  assert.equal(b.welcome?.watching, w.watching, "the client's v1-shaped welcome carries it too");
  for (const v of [a, b]) v.close();
});

test("an edit that moves the act on stage in the table is followed by a stage frame with its new index", async () => {
  await admin(srv, "PUT", "/api/shows/moves", { title: "Moves", acts: acts(3) });
  await admin(srv, "POST", "/api/shows/moves/stage", { act: "act-0", open: true });
  const v = await TestViewer.join(srv.wsUrl, "moves", "mv", v2);
  assert.deepEqual((v.v2frames[0] as V2Welcome).stage, { act: 0, open: true });
  const at = v.v2frames.length;
  const reordered = [acts(3)[2]!, acts(3)[1]!, acts(3)[0]!];
  await admin(srv, "PUT", "/api/shows/moves", { title: "Moves", acts: reordered });
  await v.until(() => v.v2frames.slice(at).some((f) => f.type === "stage"), "a stage frame after the edit");
  const after = v.v2frames.slice(at).filter((f) => f.type === "show" || f.type === "stage");
  assert.deepEqual(
    after.map((f) => f.type),
    ["show", "stage"],
    "the show frame, then the stage restated in the new table",
  );
  assert.deepEqual(after[1], { type: "stage", act: 2, open: true }, "act-0 is index 2 of the new table");
  assert.equal(v.stage?.act, "act-0");
  v.close();
});

test("a keyframe in every 1,000 ms window, busy or idle, and right after the show frame of an act-table change", async () => {
  await admin(srv, "PUT", "/api/shows/keys", { title: "Keys", acts: acts(3) });
  await admin(srv, "POST", "/api/shows/keys/stage", { act: "act-0", open: true });
  const v = await TestViewer.join(srv.wsUrl, "keys", undefined, v2);
  // Busy for a while (a change in most ticks: one buzz per viewer under `once`), then idle.
  const crowd = await Promise.all(Array.from({ length: 30 }, (_, i) => TestViewer.join(srv.wsUrl, "keys", `k-${i}`, v2)));
  for (const c of crowd) {
    c.buzz("act-0");
    await new Promise((r) => setTimeout(r, 40));
  }
  const keysSoFar = () => v.v2frames.filter((f): f is V2Keyframe => f.type === "keyframe");
  const start = keysSoFar().length;
  await v.until(() => keysSoFar().length >= start + 3, "three more keyframes while idle", 10_000);
  const ts = keysSoFar().map((k) => k.ts);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
  assert.ok(gaps.length >= 4 && Math.max(...gaps) < 1000, `gaps between keyframes: ${gaps.join(", ")} ms`);
  assert.ok(
    v.v2frames.some((f) => f.type === "delta" && f.changes.length > 0),
    "busy ticks are deltas",
  );

  const at = v.v2frames.length;
  await admin(srv, "PUT", "/api/shows/keys", { title: "Keys", acts: acts(5) });
  await v.until(() => v.v2frames.slice(at).some((f) => f.type === "keyframe"), "a keyframe after the edit");
  const after = v.v2frames.slice(at).filter((f) => f.type !== "stage");
  assert.equal(after[0]?.type, "show");
  const key = after[1];
  assert.ok(key?.type === "keyframe", `after the show frame: ${after.map((f) => f.type).join(", ")}`);
  assert.deepEqual(key.totals, [30, 0, 0, 0, 0]);
  assert.equal(v.totals["act-0"], 30);
  for (const c of [v, ...crowd]) c.close();
});

test("a keyframe_request is answered before the next scheduled keyframe", async () => {
  await admin(srv, "PUT", "/api/shows/ask", { title: "Ask", acts: acts(2) });
  const v = await TestViewer.join(srv.wsUrl, "ask", undefined, v2);
  const keys = () => v.v2frames.filter((f): f is V2Keyframe => f.type === "keyframe");
  await v.until(() => keys().length >= 1, "a keyframe");
  const n = keys().length;
  v.requestKeyframe();
  await v.until(() => keys().length > n, "the requested keyframe");
  const [prev, next] = keys().slice(n - 1, n + 1);
  // An idle show's keyframes come ~925 ms apart (1,000 ms minus 1.5 ticks); a request is answered
  // once 250 ms have passed since the last one.
  assert.ok(next!.ts - prev!.ts < 900, `keyframe ${next!.ts - prev!.ts} ms after the previous one`);
  v.close();
});

const badInput: Array<[string, string, (v: TestViewer) => void, boolean]> = [
  ["truncated buzz", "truncated", (v) => v.sendRaw(Uint8Array.of(FRAME.buzz, 1)), true],
  ["empty frame", "empty", (v) => v.sendRaw(new Uint8Array(0)), true],
  ["unknown type", "unknown_type", (v) => v.sendRaw(Uint8Array.of(0x10, 0, 0)), true],
  ["overlong varint (0 as 80 00)", "overlong_varint", (v) => v.sendRaw(Uint8Array.of(FRAME.buzz, 0x80, 0x00, 1)), true],
  ["9-byte varint", "overlong_varint", (v) => v.sendRaw(Uint8Array.of(FRAME.buzz, 1, ...Array<number>(8).fill(0xff), 1)), true],
  [
    "varint above 2^53-1",
    "unsafe_integer",
    (v) => v.sendRaw(Uint8Array.of(FRAME.buzz, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)),
    true,
  ],
  ["trailing bytes", "trailing_bytes", (v) => v.sendRaw(Uint8Array.of(FRAME.buzz, 0, 1, 0)), true],
  ["bad show id in hello", "bad_value", (v) => v.sendRaw(Uint8Array.of(FRAME.hello, 0, 3, 0x61, 0x20, 0x62)), false],
  ["text frame on a v2 connection", "text_frame", (v) => v.sendRaw(JSON.stringify({ type: "buzz", act: "act-1", seq: 1 })), true],
];

for (const [what, reason, act, afterHello] of badInput) {
  test(`bad v2 input: ${what} -> error frame bad_frame, close 4000, counted (${reason}), nothing else changes`, async () => {
    const before = await total("demo", "act-1");
    const errorsBefore = await metric(`buzzcast_v2_decode_errors_total{reason="${reason}"}`);
    const closesBefore = await metric('buzzcast_closes_total{code="bad_frame"}');
    const v = afterHello ? await TestViewer.join(srv.wsUrl, "demo", undefined, v2) : new TestViewer(srv.wsUrl, v2);
    await v.opened;
    act(v);
    assert.equal(await v.closed, CLOSE.bad_frame.code);
    const err = v.v2frames.find((f) => f.type === "error");
    assert.deepEqual(err && [err.type, err.close], ["error", 4000], `error frame, got ${JSON.stringify(v.v2frames.at(-1))}`);
    assert.equal(await metric(`buzzcast_v2_decode_errors_total{reason="${reason}"}`), errorsBefore + 1);
    assert.equal(await metric('buzzcast_closes_total{code="bad_frame"}'), closesBefore + 1);
    assert.equal(await total("demo", "act-1"), before);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });
}

test("a buzz whose act index is past the table is rejected unknown_act (a buzz may race an edit): no close, no count", async () => {
  const before = await total("demo", "act-1");
  const v = await TestViewer.join(srv.wsUrl, "demo", "idx-viewer", v2);
  v.sendRaw(encodeClientFrame({ type: "buzz", act: v.welcome!.show.acts.length, seq: 1 }));
  v.sendRaw(encodeClientFrame({ type: "buzz", act: Number.MAX_SAFE_INTEGER, seq: 2 }));
  await v.until(() => v.lastAck?.seq === 2, "ack of both");
  assert.deepEqual(v.lastAck, { type: "ack", seq: 2, counted: 0, rejected: { unknown_act: 2 }, last: "unknown_act" });
  assert.equal(v.closeCode, null);
  assert.equal(await total("demo", "act-1"), before);
  v.close();
});

test("v2 conversation errors keep v1's close codes: buzz or keyframe_request before hello, a second hello, an unknown show, too large", async () => {
  const cases: Array<[keyof typeof CLOSE, (v: TestViewer) => void, boolean]> = [
    ["hello_required", (v) => v.sendRaw(encodeClientFrame({ type: "buzz", act: 0, seq: 1 })), false],
    ["hello_required", (v) => v.requestKeyframe(), false],
    ["hello_required", (v) => v.send({ type: "hello", protocol: 1, show: "demo" }), true],
    ["unknown_show", (v) => v.send({ type: "hello", protocol: 1, show: "no-such-show" }), false],
    ["too_large", (v) => v.sendRaw(new Uint8Array(2000).fill(FRAME.buzz)), true],
  ];
  for (const [name, act, afterHello] of cases) {
    const v = afterHello ? await TestViewer.join(srv.wsUrl, "demo", undefined, v2) : new TestViewer(srv.wsUrl, v2);
    await v.opened;
    act(v);
    assert.equal(await v.closed, CLOSE[name].code, name);
    const err = v.frames.find((f) => f.type === "error");
    assert.equal(err?.type === "error" && err.code, name);
  }
  await waitFor(async () => (await metric('buzzcast_connections_by_protocol{protocol="v2"}')) === 0, { what: "v2 connections closed" });
});

test("a v2 hello carries the viewer token (extension tag 1): the same check as v1, the token's sub is the viewer", async () => {
  const secret = "v2-secret-0123456789-0123456789-abcdef";
  const tokened = await startServer({ VIEWER_TOKEN_SECRET: secret, TICK_MS: "50" });
  try {
    const token = mintHs256(secret, { sub: "v2-sub", exp: Math.floor(Date.now() / 1000) + 600 });
    const bare = new TestViewer(tokened.wsUrl, v2);
    await bare.opened;
    bare.send({ type: "hello", protocol: 1, show: "demo" });
    assert.equal(await bare.closed, CLOSE.unauthorized.code, "no token: refused");
    assert.ok(bare.frames.some((f) => f.type === "error" && f.code === "unauthorized"));
    const a = new TestViewer(tokened.wsUrl, v2);
    const b = new TestViewer(tokened.wsUrl, v2);
    await Promise.all([a.opened, b.opened]);
    a.send({ type: "hello", protocol: 1, show: "demo", viewer: "ignored-1", token });
    b.send({ type: "hello", protocol: 1, show: "demo", viewer: "ignored-2", token });
    await Promise.all([a, b].map((v) => v.until(() => v.welcome !== null, "welcome")));
    a.buzz("act-1");
    await a.until(() => a.lastAck !== null, "ack");
    b.buzz("act-1");
    await b.until(() => b.lastAck !== null, "ack");
    assert.deepEqual([a.lastAck?.last, b.lastAck?.last], ["counted", "duplicate"], "one viewer: the token's sub");
    a.close();
    b.close();
  } finally {
    assert.equal(await tokened.stop(), 0);
  }
});
