/**
 * Every kind of bad input gets an error frame with a code from shared/codes.ts and the matching
 * close code; it is counted in /metrics; the server stays up and no count changes. Over protocol
 * v1 and v2 (v2's decoding errors by reason: protocol-v2.test.ts).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { OPCODE, maskedHeaderLength, newMaskKey, writeMaskedFrame } from "../bench/generator/ws-frame.ts";
import { CLOSE, type CloseName } from "../shared/codes.ts";
import { MAX_FRAME_BYTES } from "../shared/protocol.ts";
import { FRAME, V2_SUBPROTOCOL } from "../shared/v2/index.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer, type Protocol } from "./harness/ws-client.ts";

const PROTOCOLS = [1, 2] as const satisfies Protocol[];

let srv: RunningServer;
before(async () => {
  srv = await startServer({
    TICK_MS: "50",
    HELLO_TIMEOUT_MS: "300",
    SWEEP_MS: "100",
    RATE_LIMIT_PER_SEC: "5",
    RATE_LIMIT_BURST: "5",
    FLOOD_CLOSE_AFTER: "50",
  });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

async function expectClose(v: TestViewer, name: CloseName): Promise<void> {
  const code = await v.closed;
  assert.equal(code, CLOSE[name].code, `close code for ${name}`);
  const err = v.frames.find((f) => f.type === "error");
  assert.ok(err && err.type === "error" && err.code === name, `error frame ${name}, got ${JSON.stringify(v.frames.at(-1))}`);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : NaN;
}

async function demoTotal(): Promise<number> {
  const s = (await (await fetch(`${srv.url}/api/shows/demo`)).json()) as { totals: Record<string, number> };
  return s.totals["act-1"] ?? -1;
}

const cases: Array<[string, CloseName, (v: TestViewer) => void, boolean, Protocol]> = [
  ["non-JSON text", "bad_frame", (v) => v.ws.send("{not json"), true, 1],
  ["schema violation", "bad_frame", (v) => v.send({ type: "buzz", act: "act-1", seq: -1 }), true, 1],
  ["unknown type", "bad_frame", (v) => v.send({ type: "cheer" }), true, 1],
  ["binary frame", "binary_unsupported", (v) => v.ws.send(Buffer.from([1, 2, 3])), true, 1],
  [
    "frame over the protocol limit",
    "too_large",
    (v) => v.ws.send(JSON.stringify({ type: "buzz", act: "act-1", seq: 1, pad: "x".repeat(MAX_FRAME_BYTES) })),
    true,
    1,
  ],
  ["wrong protocol version", "unsupported_protocol", (v) => v.send({ type: "hello", protocol: 99, show: "demo" }), false, 1],
  ["undecodable binary frame", "bad_frame", (v) => v.ws.send(Buffer.from([FRAME.buzz, 0x80])), true, 2],
  ["text frame", "bad_frame", (v) => v.ws.send('{"type":"buzz","act":"act-1","seq":1}'), true, 2],
  ["frame over the protocol limit", "too_large", (v) => v.ws.send(new Uint8Array(MAX_FRAME_BYTES + 1)), true, 2],
  ...PROTOCOLS.flatMap((p): Array<[string, CloseName, (v: TestViewer) => void, boolean, Protocol]> => [
    ["buzz before hello", "hello_required", (v) => v.send({ type: "buzz", act: "act-1", seq: 1 }), false, p],
    ["second hello", "hello_required", (v) => v.send({ type: "hello", protocol: 1, show: "demo" }), true, p],
    ["unknown show", "unknown_show", (v) => v.send({ type: "hello", protocol: 1, show: "no-such-show" }), false, p],
  ]),
];

for (const [what, name, act, afterHello, protocol] of cases) {
  test(`v${protocol}: ${what} -> error ${name}, close ${CLOSE[name].code}, counted, nothing else changes`, async () => {
    const before = await demoTotal();
    const closesBefore = await metric(`buzzcast_closes_total{code="${name}"}`);
    const v = afterHello ? await TestViewer.join(srv.wsUrl, "demo", undefined, { protocol }) : new TestViewer(srv.wsUrl, { protocol });
    await v.opened;
    act(v);
    await expectClose(v, name);
    assert.equal(await metric(`buzzcast_closes_total{code="${name}"}`), (Number.isNaN(closesBefore) ? 0 : closesBefore) + 1);
    assert.equal(await demoTotal(), before);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });
}

for (const protocol of PROTOCOLS) {
  test(`v${protocol}: a frame over uWS's hard limit (16 KB) is dropped by uWS itself; the server stays up`, async () => {
    const before = await demoTotal();
    const dropsBefore = await metric('buzzcast_closes_total{code="too_large_hard"}');
    const v = new TestViewer(srv.wsUrl, { protocol });
    await v.opened;
    v.ws.send(protocol === 2 ? new Uint8Array(64 * 1024) : "x".repeat(64 * 1024));
    // uWebSockets.js ends such a connection without a close frame: the client sees 1006.
    assert.ok([1006, 1009].includes(await v.closed));
    assert.equal(await metric('buzzcast_closes_total{code="too_large_hard"}'), (Number.isNaN(dropsBefore) ? 0 : dropsBefore) + 1);
    assert.equal(await demoTotal(), before);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });
}

test("a text frame that is not UTF-8: uWS drops the connection itself (1006, no error frame); counted", async () => {
  const before = await demoTotal();
  const dropsBefore = await metric('buzzcast_closes_total{code="invalid_utf8_hard"}');
  const v = await TestViewer.join(srv.wsUrl, "demo");
  const payload = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"\xff\xfe"}
  const frame = Buffer.alloc(maskedHeaderLength(payload.length) + payload.length);
  writeMaskedFrame(frame, 0, OPCODE.text, payload, newMaskKey());
  (v.ws as unknown as { _socket: Socket })._socket.write(frame);
  // uWebSockets.js validates text frames before any handler sees them and closes the socket
  // without a close frame: no error frame can be sent. The close handler counts it.
  assert.equal(await v.closed, 1006);
  assert.equal(v.frames.filter((f) => f.type === "error").length, 0);
  assert.equal(await metric('buzzcast_closes_total{code="invalid_utf8_hard"}'), (Number.isNaN(dropsBefore) ? 0 : dropsBefore) + 1);
  assert.equal(await demoTotal(), before);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
});

test("protocol v1 negotiates no subprotocol: an offered one is not echoed", async () => {
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
        "sec-websocket-protocol": "buzzcast.v9, chat",
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
  assert.equal(headers["sec-websocket-protocol"], undefined, `answered subprotocol ${String(headers["sec-websocket-protocol"])}`);
});

for (const protocol of PROTOCOLS) {
  test(`v${protocol}: no hello in time -> hello_timeout`, async () => {
    const v = new TestViewer(srv.wsUrl, { protocol });
    await v.opened;
    await expectClose(v, "hello_timeout");
  });

  test(`v${protocol}: rate limit: excess buzzes are acked rate_limited; a flood is closed; counts stay exact`, async () => {
    const watcher = await TestViewer.join(srv.wsUrl, "demo", undefined, { protocol });
    const v = await TestViewer.join(srv.wsUrl, "demo", `rate-viewer-v${protocol}`, { protocol });
    const before = await demoTotal();
    for (let i = 0; i < 8; i++) v.buzz("act-1");
    await v.until(() => v.lastAck?.seq === 8, "ack of 8");
    assert.equal(v.lastAck?.counted, 1, "once policy: one counts");
    assert.equal((v.lastAck?.rejected.duplicate ?? 0) + (v.lastAck?.rejected.rate_limited ?? 0), 7);
    assert.ok((v.lastAck?.rejected.rate_limited ?? 0) >= 2, "burst of 5, so at least 3 of 8 are limited");
    for (let i = 0; i < 200; i++) v.buzz("act-1");
    await expectClose(v, "flooding");
    // Every buzz the server took was tallied before the close; wait for a totals frame published
    // after it (so after the next flush), then nothing more may have counted.
    const closedAt = Date.now();
    await watcher.until(() => watcher.totalsFrames().some((f) => f.ts > closedAt), "a totals frame after the close", 5000);
    assert.equal(watcher.totals["act-1"], before + 1);
    assert.equal(await demoTotal(), before + 1);
    watcher.close();
  });

  test(`v${protocol}: garbage never crashes the server: random bytes and truncated frames`, async () => {
    for (let i = 0; i < 30; i++) {
      const ws = protocol === 2 ? new WebSocket(srv.wsUrl, [V2_SUBPROTOCOL]) : new WebSocket(srv.wsUrl);
      await new Promise((r) => ws.once("open", r));
      const junk = Buffer.from(Array.from({ length: 1 + ((i * 37) % 300) }, (_, j) => (i * 131 + j * 17) % 256));
      ws.send(i % 2 ? junk : junk.toString("latin1"));
      await new Promise((r) => ws.once("close", r));
    }
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.equal(await metric("buzzcast_connections"), 0);
  });
}
