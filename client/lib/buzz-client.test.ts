/**
 * BuzzClient against the real server (tsx server/main.ts on a free loopback port), with the strict
 * zod frame check so any drift between server and protocol fails here.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { CLOSE } from "../../shared/codes.ts";
import { ShowState } from "../../shared/protocol.ts";
import { admin, startServer, type RunningServer } from "../../test/harness/server.ts";
import { BuzzClient, type BuzzClientOptions, type StateChange } from "./index.ts";
import { strictFrameCheck } from "./strict-check.ts";
import { nextEvent, until } from "./testing.ts";

let server: RunningServer;
const clients: BuzzClient[] = [];

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0);
});

function client(opts: Partial<BuzzClientOptions> = {}): BuzzClient {
  const c = new BuzzClient({ url: server.wsUrl, show: "demo", WebSocket, frameCheck: strictFrameCheck, ...opts });
  clients.push(c);
  return c;
}
async function live(c: BuzzClient): Promise<BuzzClient> {
  const p = nextEvent(c, "state", (s) => s.state === "live");
  c.connect();
  await p;
  return c;
}
async function serverTotals(): Promise<Record<string, number>> {
  const res = await fetch(`${server.url}/api/shows/demo`);
  return ShowState.parse(await res.json()).totals;
}

test("connects with hello, takes the snapshot, and a buzz is counted once per viewer", async () => {
  const c = await live(client({ viewer: "viewer-a" }));
  assert.equal(c.show?.id, "demo");
  assert.deepEqual(c.stage, { act: "act-1", open: true });
  assert.equal(c.policy, "once");
  const before = c.total("act-1");
  assert.equal(await c.buzz("act-1"), "counted");
  await until(c, () => c.total("act-1") === before + 1, "the total to include the buzz");
  assert.equal(await c.buzz("act-1"), "duplicate");
  assert.equal((await serverTotals())["act-1"], before + 1);

  const other = await live(client({ viewer: "viewer-b" }));
  assert.equal(other.total("act-1"), before + 1, "a second viewer's snapshot has the same total");
});

test("many buzzes acknowledged together each get an outcome that adds up to the server's count", async () => {
  const s2 = await startServer({ BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" });
  try {
    const c = new BuzzClient({ url: s2.url, show: "demo", WebSocket, frameCheck: strictFrameCheck });
    clients.push(c);
    await live(c);
    assert.equal(c.policy, "unlimited");
    let acks = 0;
    c.on("ack", () => acks++);
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => c.buzz("act-1")));
    assert.equal(outcomes.length, 60);
    assert.deepEqual(new Set(outcomes), new Set(["counted"]));
    assert.ok(acks < 60, `one ack covered several buzzes (${acks} acks for 60 buzzes)`);
    await until(c, () => c.total("act-1") === 60, "act-1 to reach 60");
    c.close();
  } finally {
    assert.equal(await s2.stop(), 0);
  }
});

test("closed voting and unknown acts are refused, and the stage change arrives live", async () => {
  const c = await live(client({ viewer: "viewer-c" }));
  const closed = nextEvent(c, "stage", (s) => !s.open);
  await admin(server, "POST", "/api/shows/demo/stage", { act: "act-1", open: false });
  await closed;
  assert.equal(await c.buzz("act-1"), "voting_closed");
  assert.equal(await c.buzz("no-such-act"), "unknown_act");
  const open = nextEvent(c, "stage", (s) => s.open && s.act === "act-3");
  await admin(server, "POST", "/api/shows/demo/stage", { act: "act-3", open: true });
  await open;
  assert.equal(await c.buzz("act-3"), "counted");
});

test("a reset starts a new epoch: totals restart from zero", async () => {
  const c = await live(client({ viewer: "viewer-d" }));
  const epoch = c.epoch;
  await admin(server, "POST", "/api/shows/demo/stage", { act: "act-1", open: true });
  const reset = nextEvent(c, "show", (s) => s.epoch !== epoch);
  await admin(server, "POST", "/api/shows/demo/reset");
  await reset;
  assert.deepEqual(
    Object.values(c.totals).filter((n) => n > 0),
    [],
  );
  assert.equal(await c.buzz("act-1"), "counted", "the once policy starts afresh in the new epoch");
  await until(c, () => c.total("act-1") === 1, "act-1 to count 1 in the new epoch");
});

test("an unknown show closes for good: no reconnect, buzzes not sent", async () => {
  const c = client({ show: "no-such-show", reconnect: { baseMs: 10, maxMs: 20 } });
  const states: StateChange[] = [];
  c.on("state", (s) => states.push(s));
  const err = nextEvent(c, "error", (e) => e.code === "unknown_show");
  const closed = nextEvent(c, "state", (s) => s.state === "closed");
  c.connect();
  await err;
  assert.equal((await closed).code, CLOSE.unknown_show.code);
  await new Promise((r) => setTimeout(r, 200)); // ten backoff periods: a reconnect would show up
  assert.deepEqual(
    states.map((s) => s.state),
    ["connecting", "closed"],
  );
  assert.equal(await c.buzz("act-1"), "not_sent");
});
