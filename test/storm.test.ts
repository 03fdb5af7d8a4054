/**
 * Reconnect storms, paced: a SIGTERM drain closes its viewers in batches over DRAIN_SPREAD_MS, each
 * acknowledged just before its close and told when to come back (`retryAfterMs`, v1 and v2), with
 * the returns spread over a window sized to the audience; the client library waits exactly that
 * long instead of its own jitter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { BuzzClient } from "../client/lib/buzz-client.ts";
import type { StateChange } from "../client/lib/client-types.ts";
import { CLOSE } from "../shared/codes.ts";
import { decodeServerFrame } from "../shared/v2/index.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { metricValue, waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

/** Joins, retrying while admission control (MAX_CONNECT_RATE, burst 2 s) answers 503. */
async function joinPatiently(srv: RunningServer, protocol: 1 | 2): Promise<TestViewer> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      return await TestViewer.join(srv.wsUrl, "demo", undefined, { protocol });
    } catch (err) {
      last = err;
      if (!/503/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100)); // the bucket refills at MAX_CONNECT_RATE
    }
  }
  throw last;
}

test("a drain closes paced over DRAIN_SPREAD_MS, acks first, and spreads retryAfterMs over a window sized to the audience", async () => {
  // 30 viewers at MAX_CONNECT_RATE=15: window = 30 / 15 s = 2000 ms; spread 1500 ms; no tick (10 s)
  // runs during the test, so only the drain itself can acknowledge the buzzes.
  const N = 30;
  const WINDOW = 2000;
  const SPREAD = 1500;
  const srv = await startServer({
    TICK_MS: "10000",
    BUZZ_POLICY: "unlimited",
    RATE_LIMIT_PER_SEC: "0",
    MAX_CONNECT_RATE: "15",
    DRAIN_SPREAD_MS: String(SPREAD),
  });
  const viewers: TestViewer[] = [];
  for (let i = 0; i < N; i++) viewers.push(await joinPatiently(srv, i % 2 ? 2 : 1));
  const closedAt = new Map<TestViewer, number>();
  for (const v of viewers) void v.closed.then(() => closedAt.set(v, Date.now()));
  for (const v of viewers) for (let i = 0; i < 3; i++) v.buzz("act-1");
  await waitFor(async () => (await metricValue(srv, "buzzcast_buzzes_received_total")) === 3 * N, { what: "all buzzes received" });
  const t0 = Date.now();
  assert.equal(await srv.stop("SIGTERM"), 0);
  const retry: number[] = [];
  const back: number[] = [];
  for (const v of viewers) {
    assert.equal(await v.closed, CLOSE.draining.code);
    assert.equal(v.lastAck?.seq, 3, "acknowledged just before its close");
    assert.equal(v.lastAck?.counted, 3);
    const err = v.protocol === 2 ? v.v2frames.find((f) => f.type === "error") : v.frames.find((f) => f.type === "error");
    assert.ok(err && err.type === "error", `v${v.protocol}: an error frame before the close`);
    const ms = err.retryAfterMs;
    assert.ok(Number.isInteger(ms) && ms! >= 0 && ms! <= WINDOW, `retryAfterMs ${ms} within [0, ${WINDOW}]`);
    retry.push(ms!);
    back.push(closedAt.get(v)! - t0 + ms!);
  }
  const closes = viewers.map((v) => closedAt.get(v)! - t0);
  const span = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  assert.ok(span(closes) >= SPREAD / 2, `closes spread over ${span(closes)} ms (spread ${SPREAD})`);
  assert.ok(Math.max(...closes) <= SPREAD + 1000, `every close within the spread: last at ${Math.max(...closes)} ms`);
  assert.ok(span(back) >= WINDOW / 2, `returns spread over ${span(back)} ms (window ${WINDOW})`);
  assert.ok(Math.max(...back) <= WINDOW + 1000, `everyone told to be back within the window: last at ${Math.max(...back)} ms`);
  assert.ok(new Set(retry).size > N / 2, "retryAfterMs values differ between viewers");
});

/** A `ws` WebSocket that records when each socket is made and what error frame it got. */
function spyingWebSocket(log: { made: number[]; closed: number[]; retryAfterMs: Array<number | undefined> }) {
  return class Spy extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      log.made.push(Date.now());
      this.on("close", () => log.closed.push(Date.now())); // before the client's own close handler
      this.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          const f = decodeServerFrame(new Uint8Array(data));
          if (f.type === "error") log.retryAfterMs.push(f.retryAfterMs);
        } else {
          const f = JSON.parse(data.toString()) as { type: string; retryAfterMs?: number };
          if (f.type === "error") log.retryAfterMs.push(f.retryAfterMs);
        }
      });
    }
  };
}

for (const protocol of ["v1", "v2"] as const) {
  test(`the client library (${protocol}) waits the retryAfterMs of the drain's error frame before reconnecting`, async () => {
    // Two clients at MAX_CONNECT_RATE=1: window 2 s, all closed at once (spread 0).
    const srv = await startServer({ MAX_CONNECT_RATE: "1", DRAIN_SPREAD_MS: "0" });
    const logs = [0, 1].map(() => ({ made: [] as number[], closed: [] as number[], retryAfterMs: [] as Array<number | undefined> }));
    const states: StateChange[][] = [[], []];
    const made: BuzzClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = new BuzzClient({ url: srv.wsUrl, show: "demo", protocol, WebSocket: spyingWebSocket(logs[i]!), random: () => 0.999 });
        c.on("state", (s) => states[i]!.push(s));
        made.push(c);
        c.connect();
        await waitFor(() => c.state === "live", { what: `client ${i} live`, timeoutMs: 10_000 });
      }
      // A client refused at the upgrade (503) before it got in made sockets too: count from the drain on.
      const drainAt = Date.now();
      assert.equal(await srv.stop("SIGTERM"), 0);
      for (let i = 0; i < 2; i++) {
        const drained = () => states[i]!.find((x) => x.state === "reconnecting" && x.code === CLOSE.draining.code);
        await waitFor(() => drained() !== undefined, { what: `client ${i} reconnecting after the drain` });
        const s = drained()!;
        const asked = logs[i]!.retryAfterMs.at(-1);
        assert.equal(typeof asked, "number", "the drain's error frame carried retryAfterMs");
        assert.equal(s.retryInMs, asked, "the client's delay is the server's retryAfterMs, not its own jitter (999 ms here)");
        // Its next socket is made no earlier than that.
        const closedAt = logs[i]!.closed.find((t) => t >= drainAt)!;
        const next = () => logs[i]!.made.find((t) => t >= closedAt);
        await waitFor(() => next() !== undefined, { what: `client ${i} tries again`, timeoutMs: 10_000 });
        const waited = next()! - closedAt;
        assert.ok(waited >= asked! - 1, `waited ${waited} ms after the close, asked ${asked} ms`);
      }
    } finally {
      for (const c of made) c.close();
    }
  });
}
