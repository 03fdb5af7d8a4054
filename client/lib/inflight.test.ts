/**
 * Unit tests of the client's logic for situations the real server cannot be made to produce on
 * demand (a connection lost between a buzz and its ack, a silent connection, a malformed frame),
 * against a tiny scripted `ws` server on a loopback port.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import type { Ack, ClientMessage, Welcome } from "../../shared/protocol.ts";
import { BuzzClient, type BuzzClientOptions } from "./index.ts";
import { strictFrameCheck } from "./strict-check.ts";
import { nextEvent, until } from "./testing.ts";

type Script = (conn: number, ws: WebSocket, msg: ClientMessage) => void;

const servers: WebSocketServer[] = [];
after(() => servers.forEach((s) => s.close()));

/** A fake server: answers hello with a welcome, hands every other frame to `script`. */
async function fake(
  policy: "once" | "unlimited",
  script: Script,
  epochOf: (conn: number) => string = () => "e1",
): Promise<{ url: string; seen: ClientMessage[][] }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once("listening", r));
  const seen: ClientMessage[][] = [];
  wss.on("connection", (ws) => {
    const conn = seen.length;
    seen.push([]);
    ws.on("message", (data) => {
      const msg = JSON.parse((data as Buffer).toString()) as ClientMessage;
      seen[conn]!.push(msg);
      if (msg.type === "hello") {
        const w: Welcome = {
          type: "welcome",
          protocol: 1,
          show: { id: "s", title: "S", acts: [{ id: "a", name: "A" }] },
          stage: { act: "a", open: true },
          tickMs: 100,
          epoch: epochOf(conn),
          seq: 0,
          totals: { a: 0 },
          policy,
        };
        ws.send(JSON.stringify(w));
      } else script(conn, ws, msg);
    });
  });
  const addr = wss.address();
  if (addr === null || typeof addr === "string") throw new Error("unexpected server address");
  return { url: `ws://127.0.0.1:${addr.port}/ws`, seen };
}

function client(url: string, opts: Partial<BuzzClientOptions> = {}): BuzzClient {
  return new BuzzClient({ url, show: "s", WebSocket, frameCheck: strictFrameCheck, reconnect: { baseMs: 20, maxMs: 50 }, ...opts });
}
const ack = (seq: number, counted: number, last: Ack["last"], rejected: Ack["rejected"] = {}): string =>
  JSON.stringify({ type: "ack", seq, counted, rejected, last } satisfies Ack);

test("policy once + viewer: a buzz lost with its connection is resent, and its outcome comes once", async () => {
  const f = await fake("once", (conn, ws, msg) => {
    if (msg.type !== "buzz") return;
    if (conn === 0)
      ws.close(1011, "boom"); // counted or not, the client cannot know
    else ws.send(ack(msg.seq, 0, "duplicate", { duplicate: 1 }));
  });
  const c = client(f.url, { viewer: "v" });
  const outcomes: string[] = [];
  c.on("buzz", (b) => outcomes.push(b.outcome));
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("a"), "duplicate", "the resend was deduplicated by the server");
  assert.deepEqual(outcomes, ["duplicate"]);
  assert.deepEqual(
    f.seen.map((frames) => frames.filter((m) => m.type === "buzz").length),
    [1, 1],
  );
  assert.deepEqual(f.seen[1]?.[1], { type: "buzz", act: "a", seq: 1 }, "seq restarts on the new connection");
  c.close();
});

test("a buzz lost with its connection is not resent into a new epoch (the show was reset meanwhile)", async () => {
  const f = await fake(
    "once",
    (conn, ws, msg) => {
      if (msg.type === "buzz" && conn === 0) ws.close(1011, "boom");
    },
    (conn) => (conn === 0 ? "e1" : "e2"),
  );
  const c = client(f.url, { viewer: "v" });
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("a"), "unconfirmed");
  assert.equal(c.epoch, "e2");
  assert.deepEqual(
    f.seen.map((frames) => frames.filter((m) => m.type === "buzz").length),
    [1, 0],
  );
  c.close();
});

test("a buzz whose connection dies every time is resent at most 3 times, then unconfirmed", async () => {
  const f = await fake("once", (_conn, ws, msg) => {
    if (msg.type === "buzz") ws.close(1011, "boom");
  });
  const c = client(f.url, { viewer: "v" });
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("a"), "unconfirmed");
  const sends = f.seen.map((frames) => frames.filter((m) => m.type === "buzz").length);
  assert.deepEqual(sends, [1, 1, 1]);
  c.close();
});

test("policy unlimited: a buzz lost with its connection is reported unconfirmed, never resent", async () => {
  const f = await fake("unlimited", (conn, ws, msg) => {
    if (msg.type === "buzz" && conn === 0) ws.close(1011, "boom");
  });
  const c = client(f.url, { viewer: "v" });
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("a"), "unconfirmed");
  await until(c, () => c.state === "live" && f.seen.length === 2, "the reconnection");
  assert.deepEqual(
    f.seen.map((frames) => frames.filter((m) => m.type === "buzz").length),
    [1, 0],
  );
  c.close();
});

test("a connection that goes silent is dropped and re-established", async () => {
  const f = await fake("once", () => {});
  const c = client(f.url, { staleAfterMs: 200 });
  const stale = nextEvent(c, "error", (e) => e.code === "stale_connection");
  c.connect();
  await stale;
  await until(c, () => c.state === "live" && f.seen.length >= 2, "a second connection");
  c.close();
});

test("malformed server frames are reported and dropped; the connection stays up", async () => {
  const f = await fake("once", (_conn, ws, msg) => {
    if (msg.type !== "buzz") return;
    ws.send("not json");
    ws.send(JSON.stringify({ type: "totals", show: "s", epoch: "e1", seq: "7", ts: 1, totals: {} }));
    ws.send(ack(msg.seq, 1, "counted"));
  });
  const c = client(f.url, { viewer: "v" });
  const errors: string[] = [];
  c.on("error", (e) => errors.push(e.code));
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("a"), "counted");
  assert.deepEqual(errors, ["bad_server_frame", "bad_server_frame"]);
  assert.equal(c.state, "live");
  c.close();
});

test("close() settles held buzzes as not_sent and stops reconnecting", async () => {
  const c = client("ws://127.0.0.1:9/ws"); // nothing listens on the discard port
  c.connect();
  const held = c.buzz("a");
  c.close();
  assert.equal(await held, "not_sent");
  assert.equal(c.state, "closed");
});
