/**
 * Drain and restart against the real server: SIGTERM the process (it closes every connection with
 * `draining`, 1001), start a new one on the same port, and check the client comes back by itself,
 * takes the new snapshot, and neither loses nor double-counts the buzzes made meanwhile. A drain
 * is a state (`reconnecting`, reason "draining"), never an `error` event, in v1 and v2; and each
 * reconnect attempt is announced by exactly one `reconnecting` event.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";
import { CLOSE } from "../../shared/codes.ts";
import { ShowState } from "../../shared/protocol.ts";
import { startServer, type RunningServer } from "../../test/harness/server.ts";
import { BuzzClient, type BuzzClientError, type BuzzOutcome, type StateChange } from "./index.ts";
import { strictFrameCheck } from "./strict-check.ts";
import { freePort, nextEvent, until } from "./testing.ts";

const fast = { baseMs: 100, maxMs: 400, immediateJitterMs: 200 };

async function totalsOf(s: RunningServer): Promise<Record<string, number>> {
  return ShowState.parse(await (await fetch(`${s.url}/api/shows/demo`)).json()).totals;
}

/** Settles to the outcome, or "pending" if it has not settled by the time the event loop idles. */
async function peek(p: Promise<BuzzOutcome>): Promise<BuzzOutcome | "pending"> {
  return Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), 50))]);
}

test("after a drain the client reconnects to the restarted server and sends what it held, once", async () => {
  const port = await freePort(); // see freePort: a port-0 server could not be restarted on its port
  let s1: RunningServer | null = await startServer({ PORT: String(port) });
  let s2: RunningServer | null = null;
  const c = new BuzzClient({ url: s1.url, show: "demo", viewer: "drain-viewer", WebSocket, frameCheck: strictFrameCheck, reconnect: fast });
  const held = new BuzzClient({ url: s1.url, show: "demo", viewer: "no-queue", WebSocket, queueWhileDisconnected: false, reconnect: fast });
  const v2 = new BuzzClient({ url: s1.url, show: "demo", viewer: "drain-v2", WebSocket, protocol: "v2", reconnect: fast });
  try {
    const errors: BuzzClientError[] = [];
    for (const client of [c, held, v2]) client.on("error", (e) => errors.push(e));
    const states: StateChange[] = [];
    c.on("state", (s) => states.push(s));
    const welcomes: string[] = [];
    c.on("welcome", (w) => welcomes.push(w.epoch));
    c.connect();
    held.connect();
    v2.connect();
    await until(c, () => c.state === "live", "first connection");
    await until(held, () => held.state === "live", "second client live");
    await until(v2, () => v2.state === "live", "v2 client live");
    assert.equal(v2.protocol, "v2");
    assert.equal(await c.buzz("act-1"), "counted");

    const drained = nextEvent(c, "state", (s) => s.state === "reconnecting");
    const drainedV2 = nextEvent(v2, "state", (s) => s.state === "reconnecting");
    assert.equal(await s1.stop("SIGTERM"), 0, "the server drains and exits 0");
    s1 = null;
    const [first, firstV2] = [await drained, await drainedV2];
    for (const s of [first, firstV2]) {
      assert.equal(s.code, CLOSE.draining.code);
      assert.equal(s.reason, "draining", "the drain is reported as the state's reason");
      assert.ok((s.retryInMs ?? Infinity) <= fast.immediateJitterMs, "a drain is followed by an immediate reconnect");
    }

    // The server is down: the first client holds the buzz, the second reports it was not sent.
    const pending = c.buzz("act-1");
    assert.equal(await held.buzz("act-1"), "not_sent");
    assert.equal(await peek(pending), "pending");

    s2 = await startServer({ PORT: String(port) });
    await until(c, () => c.state === "live", "reconnection to the new server", 15_000);
    assert.equal(welcomes.length, 2, "the new server's snapshot was taken");
    assert.equal(await pending, "counted", "the held buzz was sent after the reconnect");
    await until(c, () => c.total("act-1") === 1, "act-1 to show the held buzz");
    assert.equal((await totalsOf(s2))["act-1"], 1, "the held buzz counted exactly once (the new server starts empty)");
    assert.deepEqual(
      [...new Set(states.map((s) => s.state))],
      ["connecting", "live", "reconnecting"],
      "states: connecting, live, reconnecting (while down), live again",
    );
    assert.equal(states.at(-1)?.state, "live");
    assert.deepEqual(
      errors.filter((e) => e.code === "draining"),
      [],
      "a drain never arrives as an error (v1 error frame, v2 close frame)",
    );
  } finally {
    c.close();
    held.close();
    v2.close();
    if (s1) await s1.stop();
    if (s2) assert.equal(await s2.stop(), 0);
  }
});

test("each reconnect attempt is announced by exactly one reconnecting event", async () => {
  const port = await freePort(); // nothing listens there: every attempt fails at once
  const log: string[] = [];
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      log.push("socket");
      super(url, protocols);
    }
  }
  const c = new BuzzClient({
    url: `ws://127.0.0.1:${port}/ws`,
    show: "demo",
    WebSocket: CountingWebSocket,
    reconnect: { baseMs: 10, maxMs: 20 },
  });
  c.on("state", (s) => log.push(s.state));
  c.on("error", () => {}); // connection refused, reported per attempt
  try {
    c.connect();
    await until(c, () => log.filter((e) => e === "socket").length >= 4, "four connection attempts");
  } finally {
    c.close();
  }
  // One "reconnecting" per failed attempt, each followed by exactly one new socket.
  assert.match(log.join(" "), /^connecting socket( reconnecting socket){3,}( reconnecting)? closed$/, log.join(" "));
});
