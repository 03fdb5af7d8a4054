import { test } from "node:test";
import assert from "node:assert/strict";
import type { Hub } from "../broadcast/hub.ts";
import type { CloseName } from "../../shared/codes.ts";
import { newConn, type Conn } from "./connection.ts";
import { ReaderFlow } from "./reader-flow.ts";
import { TopicStreams } from "./topic-streams.ts";
import type { WebSocket } from "./uws.ts";

/** The part of a uWS WebSocket reader-flow.ts uses, recording pings and subscriptions. */
class FakeWs {
  readonly topics = new Set<string>();
  readonly pings: string[] = [];
  constructor(readonly conn: Conn) {}
  getUserData(): Conn {
    return this.conn;
  }
  getTopics(): string[] {
    return [...this.topics];
  }
  subscribe(t: string): boolean {
    this.topics.add(t);
    return true;
  }
  unsubscribe(t: string): boolean {
    return this.topics.delete(t);
  }
  ping(m: Uint8Array): number {
    this.pings.push(Buffer.from(m).toString());
    return 1;
  }
  /** The client answers its last ping. */
  pongLast(flow: ReaderFlow): void {
    const p = this.pings.at(-1)!;
    flow.pong(this.ws, this.conn, new Uint8Array(Buffer.from(p)).buffer);
  }
  get ws(): WebSocket<Conn> {
    return this as unknown as WebSocket<Conn>;
  }
}

function setup(readers: number, unackedBytes = 1000) {
  const published: string[] = [];
  const streams = new TopicStreams({ publish: (t) => published.push(t), subscribers: () => 0 });
  const joins: FakeWs[] = [];
  const hub = {
    join: (ws: WebSocket<Conn>) => {
      ws.subscribe("show:s");
      joins.push(ws as unknown as FakeWs);
    },
  } as unknown as Hub;
  const closes: Array<[Conn, CloseName]> = [];
  let slow = 0;
  const flow = new ReaderFlow(
    streams,
    hub,
    undefined,
    {
      close: (_ws, c, name) => {
        c.open = false; // as the endpoint does
        closes.push([c, name]);
      },
    },
    () => slow++,
    { unackedBytes, closeAfterMs: 5000, roundMs: 1000, sliceMs: 100, closesPerSlice: 2 },
  );
  const sockets = Array.from({ length: readers }, () => {
    const c = newConn(0, { tokens: 0, at: 0 } as never);
    c.open = true;
    c.counts = { show: { id: "s" } } as never;
    const f = new FakeWs(c);
    f.subscribe("show:s");
    flow.joined(f.ws, c, 0);
    return f;
  });
  return { flow, streams, sockets, joins, closes, slow: () => slow };
}

/** One round of slices, the first at `fromMs`. */
function round(flow: ReaderFlow, fromMs: number): void {
  for (let i = 0; i < 10; i++) flow.visit(fromMs + i * 100);
}

test("a visit slice covers readers x sliceMs / roundMs readers, and a round covers each once", () => {
  const { flow, streams, sockets } = setup(25);
  for (const s of sockets) s.pongLast(flow); // every join ping answered
  streams.publish("show:s", "x".repeat(499), false);
  round(flow, 0);
  assert.ok(
    sockets.every((s) => s.pings.length === 1),
    "no ping while less than half the bound is unacknowledged",
  );
  streams.publish("show:s", "x", false);
  flow.visit(0);
  assert.equal(sockets.filter((s) => s.pings.length === 2).length, 3); // ceil(25 / 10)
  for (let i = 1; i < 10; i++) flow.visit(i * 100);
  assert.ok(sockets.every((s) => s.pings.length === 2));
});

test("a reader that answers its pings within a round is never parked, however much is published", () => {
  const { flow, streams, sockets } = setup(1, 1000);
  const [r] = sockets;
  for (let n = 0; n < 5; n++) {
    streams.publish("show:s", "x".repeat(5000), false);
    round(flow, n * 1000 + 900); // visited every other slice: its ping is younger than a round
    r!.pongLast(flow);
  }
  assert.ok(r!.pings.length >= 5);
  assert.equal(r!.conn.reader.parkedSince, 0);
  assert.deepEqual(r!.getTopics(), ["show:s"]);
});

test("a reader with a ping unanswered for a round and over the bound unread is parked, resumed by its probe's pong, closed if it stays parked", () => {
  const { flow, streams, sockets, joins, closes, slow } = setup(2, 1000);
  const [stuck, fresh] = sockets;
  streams.publish("show:s", "x".repeat(999), false);
  round(flow, 1000); // pings a round old, 999 <= bound
  assert.equal(stuck!.conn.reader.parkedSince, 0);
  streams.publish("show:s", "xx", false);
  round(flow, 2000);
  assert.ok(stuck!.conn.reader.parkedSince >= 2000);
  assert.deepEqual(stuck!.getTopics(), [], "parked: unsubscribed");
  assert.equal(stuck!.pings.at(-1), "bp", "a probe follows the park");
  // The steady ping's pong does not resume it: bytes sent after that ping may still be unread.
  flow.pong(stuck!.ws, stuck!.conn, new Uint8Array(Buffer.from("bz")).buffer);
  assert.deepEqual(stuck!.getTopics(), []);
  stuck!.pongLast(flow);
  assert.deepEqual(stuck!.getTopics(), ["show:s"], "resumed: subscribed again");
  assert.deepEqual(joins, [stuck], "and sent a fresh welcome (the hub's join)");
  assert.equal(stuck!.conn.reader.ackedAt, streams.of("show:s").bytes);
  const resumed = flow.metrics().find((f) => f.name === "buzzcast_readers_resumed_total");
  assert.equal(resumed?.samples[0]?.value, 1);
  // `fresh` was parked too (it never answered): it stays parked and is closed after closeAfterMs.
  const since = fresh!.conn.reader.parkedSince;
  assert.ok(since >= 2000);
  round(flow, since + 3900);
  assert.deepEqual(closes, []);
  round(flow, since + 5000);
  assert.deepEqual(closes, [[fresh!.conn, "slow_consumer"]]);
  assert.equal(slow(), 1);
});

test("parked readers are closed at most closesPerSlice per slice", () => {
  const { flow, streams, closes } = setup(100, 10);
  streams.publish("show:s", "x".repeat(100), false);
  round(flow, 1000);
  round(flow, 2000); // every reader parked by now
  for (let t = 8000; closes.length < 100 && t < 30_000; t += 100) {
    const before = closes.length;
    flow.visit(t);
    assert.ok(closes.length - before <= 2, `${closes.length - before} closed in one slice`);
  }
  assert.equal(closes.length, 100);
});

test("pongs with another payload (uWS's automatic pings, a client's own) change nothing", () => {
  const { flow, streams, sockets } = setup(1, 10);
  const [r] = sockets;
  streams.publish("show:s", "x".repeat(100), false);
  flow.pong(r!.ws, r!.conn, new ArrayBuffer(0));
  flow.pong(r!.ws, r!.conn, new Uint8Array([1, 2]).buffer);
  round(flow, 1000);
  assert.ok(r!.conn.reader.parkedSince >= 1000);
});
