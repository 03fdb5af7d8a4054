/**
 * The client on protocol v2 and its negotiation, against a scripted server that speaks the shared
 * codec (fake-server.ts): act indices both ways, totals through the tracker (gap -> one
 * keyframe_request, never backwards), acks, error frames, and "auto" on a v1-only server, both on
 * the same connection (a browser-like WebSocket) and by reconnecting (Node's ws refuses the answer).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { WebSocket } from "ws";
import { CLOSE } from "../../shared/codes.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { BuzzClient, type BuzzClientOptions, type TotalsUpdate } from "./index.ts";
import { fakeServer, type FakeServer, type Seen } from "./fake-server.ts";
import type { WebSocketConstructor } from "./socket.ts";
import { nextEvent, until } from "./testing.ts";

const servers: FakeServer[] = [];
const clients: BuzzClient[] = [];
after(async () => {
  clients.forEach((c) => c.close());
  await Promise.all(servers.map((s) => s.close()));
});

async function fake(...args: Parameters<typeof fakeServer>): Promise<FakeServer> {
  const s = await fakeServer(...args);
  servers.push(s);
  return s;
}
function client(url: string, opts: Partial<BuzzClientOptions> = {}): BuzzClient {
  const c = new BuzzClient({
    url,
    show: "s",
    viewer: "v",
    WebSocket,
    reconnect: { baseMs: 20, maxMs: 50, immediateJitterMs: 10 },
    ...opts,
  });
  clients.push(c);
  return c;
}
const types = (frames: Seen[] | undefined) => (frames ?? []).map((f) => f.msg.type);

test("v2: welcome, totals and stage arrive as the v1 events; a buzz names its act by index and its ack settles it", async () => {
  const f = await fake({
    v2: true,
    afterWelcome: (c) => c.send({ type: "delta", epochId: 7, seq: 11, ts: Date.now(), changes: [[1, 9]] }),
    script: (c, { msg }) => {
      if (msg.type === "buzz") {
        c.send({ type: "ack", seq: msg.seq, counted: 1, rejected: {}, last: "counted" });
        c.send({ type: "stage", act: 2, open: false });
      }
    },
  });
  const c = client(f.url, { protocol: "v2" });
  const totals = nextEvent(c, "totals", (t) => t.seq === 11);
  c.connect();
  assert.deepEqual((await totals).totals, { a: 5, b: 9, c: 7 });
  assert.equal(c.protocol, "v2");
  assert.deepEqual(c.stage, { act: "b", open: true });
  assert.equal(c.policy, "once");
  const closed = nextEvent(c, "stage", (s) => !s.open);
  assert.equal(await c.buzz("b"), "counted");
  assert.deepEqual(await closed, { act: "c", open: false });
  assert.deepEqual(f.offers, ["buzzcast.v2"]);
  assert.deepEqual(f.seen[0]?.[0]?.msg, { type: "hello", show: "s", viewer: "v" });
  assert.deepEqual(f.seen[0]?.[1]?.msg, { type: "buzz", act: 1, seq: 1 }, "act b is index 1 of the table");
});

test("v2: a gap sends one keyframe_request, deltas wait for the keyframe, and no total goes backwards", async () => {
  const f = await fake({
    v2: true,
    afterWelcome: (c) => {
      c.send({ type: "delta", epochId: 7, seq: 13, ts: 1, changes: [[0, 50]] }); // 11 and 12 missing: a gap
      c.send({ type: "delta", epochId: 7, seq: 14, ts: 1, changes: [[0, 60]] }); // still waiting
    },
    script: (c, { msg }) => {
      if (msg.type === "keyframe_request") {
        c.send({ type: "keyframe", epochId: 7, seq: 15, ts: 1, totals: [60, 4, 8] }); // b went down on the wire
      }
    },
  });
  const c = client(f.url, { protocol: "v2" });
  const seen: TotalsUpdate[] = [];
  c.on("totals", (t) => seen.push(t));
  c.connect();
  await until(c, () => c.total("a") === 60, "the keyframe");
  assert.deepEqual(c.totals, { a: 60, b: 6, c: 8 }, "b keeps its larger shown value");
  assert.deepEqual(
    seen.map((t) => t.seq),
    [10, 15],
    "only the welcome and the keyframe were applied",
  );
  assert.deepEqual(types(f.seen[0]), ["hello", "keyframe_request"], "exactly one keyframe_request");
});

test("v2: a show frame changes the act table; later buzzes and stages use the new indices", async () => {
  const f = await fake({
    v2: true,
    afterWelcome: (c) => {
      const acts = [
        { id: "c", name: "C" },
        { id: "b", name: "B" },
      ];
      c.send({ type: "show", show: { id: "s", title: "S2", acts }, epoch: "e1", epochId: 7 });
      c.send({ type: "keyframe", epochId: 7, seq: 11, ts: 1, totals: [8, 6] });
      c.send({ type: "stage", act: 0, open: true });
    },
  });
  const c = client(f.url, { protocol: "v2" });
  c.connect();
  await until(c, () => c.stage?.act === "c" && c.total("c") === 8, "the new table, its keyframe and the stage");
  assert.equal(c.show?.title, "S2");
  const buzz = c.buzz("c");
  await waitFor(() => (f.seen[0]?.length ?? 0) >= 2, { what: "the buzz to arrive" });
  assert.deepEqual(f.seen[0]?.[1]?.msg, { type: "buzz", act: 0, seq: 1 });
  assert.equal(await c.buzz("a"), "unknown_act", "an act that left the show is refused locally");
  c.close();
  assert.equal(await buzz, "unconfirmed");
});

test("v2: an error frame is reported by its close name; a malformed frame is reported and dropped", async () => {
  const f = await fake({
    v2: true,
    script: (c, { msg }) => {
      if (msg.type !== "buzz") return;
      c.ws.send(new Uint8Array([0x12, 0x80])); // a delta cut inside its first varint
      c.send({ type: "error", close: CLOSE.unknown_show.code, message: "nope" });
      c.ws.close(CLOSE.unknown_show.code, "unknown_show");
    },
  });
  const c = client(f.url, { protocol: "v2" });
  const errors: string[] = [];
  c.on("error", (e) => errors.push(e.code));
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(await c.buzz("b"), "unconfirmed");
  await until(c, () => c.state === "closed", "a close for good");
  assert.deepEqual(errors, ["bad_server_frame", "unknown_show"]);
});

test("auto on a v2 server speaks v2; auto on a v1-only server falls back, by reconnecting with Node's ws", async () => {
  const v2 = await fake({ v2: true });
  const a = client(v2.url, { protocol: "auto" });
  a.connect();
  await until(a, () => a.state === "live", "live on v2");
  assert.equal(a.protocol, "v2");

  const v1 = await fake({ v2: false, script: (c, { msg }) => msg.type === "buzz" && c.send(ackV1(msg.seq)) });
  const b = client(v1.url, { protocol: "auto" });
  b.connect();
  await until(b, () => b.state === "live", "live on v1");
  assert.equal(b.protocol, "v1");
  assert.deepEqual(v1.offers, ["buzzcast.v2", ""], "offered v2, was refused by ws, came back offering nothing");
  assert.equal(await b.buzz("b"), "counted");
  assert.deepEqual(v1.seen[1]?.[1]?.msg, { type: "buzz", act: "b", seq: 1 });
});

test("auto on a v1-only server continues in v1 on the same connection where the WebSocket accepts the answer", async () => {
  const v1 = await fake({ v2: false, script: (c, { msg }) => msg.type === "buzz" && c.send(ackV1(msg.seq)) });
  BrowserLikeWebSocket.offered = [];
  const c = client(v1.url, { protocol: "auto", WebSocket: BrowserLikeWebSocket });
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(c.protocol, "v1");
  assert.equal(await c.buzz("b"), "counted");
  assert.equal(v1.offers.length, 1, "one connection");
  assert.deepEqual(BrowserLikeWebSocket.offered, [["buzzcast.v2"]]);
});

test("protocol v2 on a v1-only server: protocol_unavailable, and it keeps trying with backoff", async () => {
  const v1 = await fake({ v2: false });
  const c = client(v1.url, { protocol: "v2", WebSocket: BrowserLikeWebSocket });
  const err = nextEvent(c, "error", (e) => e.code === "protocol_unavailable");
  c.connect();
  await err;
  await waitFor(() => v1.offers.length >= 2, { what: "a second attempt" });
  assert.deepEqual(types(v1.seen[0]), [], "no hello was sent in v1");
  assert.notEqual(c.state, "live");
});

test("v1 stays the default: no subprotocol offered", async () => {
  const v2 = await fake({ v2: true });
  const c = client(v2.url);
  c.connect();
  await until(c, () => c.state === "live", "live");
  assert.equal(c.protocol, "v1");
  assert.deepEqual(v2.offers, [""]);
});

function ackV1(seq: number): object {
  return { type: "ack", seq, counted: 1, rejected: {}, last: "counted" };
}

/**
 * What a browser does with an offered subprotocol the server does not select: it opens anyway
 * with `protocol === ""` (WHATWG WebSockets). Node's ws refuses that handshake, so this wrapper
 * offers nothing to ws and remembers what it was asked to offer.
 */
class BrowserLikeWebSocket extends WebSocket {
  static offered: Array<string | string[] | undefined> = [];
  constructor(url: string, protocols?: string | string[]) {
    super(url);
    BrowserLikeWebSocket.offered.push(protocols);
  }
}
const _typecheck: WebSocketConstructor = BrowserLikeWebSocket;
void _typecheck;
