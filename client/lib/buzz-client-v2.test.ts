/**
 * BuzzClient on protocol v2 against the real server (tsx server/main.ts): the same guarantees as
 * buzz-client.test.ts on v1 (snapshot, counted once per viewer, stage live, reset, totals exact),
 * "auto" choosing v2, and signed viewer tokens (VIEWER_TOKEN_SECRET) through getToken.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { CLOSE } from "../../shared/codes.ts";
import { ShowState } from "../../shared/protocol.ts";
import { epochSec, mintHs256 } from "../../test/harness/jwt.ts";
import { admin, startServer, type RunningServer } from "../../test/harness/server.ts";
import { BuzzClient, type BuzzClientOptions } from "./index.ts";
import { nextEvent, until } from "./testing.ts";

const SECRET = "client-test-secret-that-is-at-least-32-bytes-long";
let server: RunningServer;
let secured: RunningServer;
const clients: BuzzClient[] = [];

before(async () => {
  [server, secured] = await Promise.all([startServer(), startServer({ VIEWER_TOKEN_SECRET: SECRET })]);
});
after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0);
  assert.equal(await secured.stop(), 0);
});

function client(s: RunningServer, opts: Partial<BuzzClientOptions> = {}): BuzzClient {
  const c = new BuzzClient({ url: s.wsUrl, show: "demo", WebSocket, protocol: "v2", reconnect: { baseMs: 20, maxMs: 100 }, ...opts });
  clients.push(c);
  return c;
}
async function live(c: BuzzClient): Promise<BuzzClient> {
  const p = nextEvent(c, "state", (s) => s.state === "live");
  c.connect();
  await p;
  return c;
}
async function serverTotals(s: RunningServer): Promise<Record<string, number>> {
  return ShowState.parse(await (await fetch(`${s.url}/api/shows/demo`)).json()).totals;
}
/** `expiresInSec` negative: a token that expired that long ago. */
function token(sub: string, expiresInSec = 300): Promise<string> {
  return Promise.resolve(mintHs256(SECRET, { sub, iat: epochSec(), exp: epochSec(expiresInSec) }));
}

test("v2: snapshot, a buzz counted once per viewer, and every viewer's totals follow exactly", async () => {
  const c = await live(client(server, { viewer: "v2-a" }));
  assert.equal(c.protocol, "v2");
  assert.equal(c.show?.id, "demo");
  assert.deepEqual(c.stage, { act: "act-1", open: true });
  assert.equal(c.policy, "once");
  const watcher = await live(client(server, { viewer: "v2-watcher" }));
  const start = c.total("act-1");
  assert.equal(await c.buzz("act-1"), "counted");
  assert.equal(await c.buzz("act-1"), "duplicate");
  await until(watcher, () => watcher.total("act-1") === start + 1, "another viewer to see the buzz");
  assert.equal((await serverTotals(server))["act-1"], start + 1);
});

test("v2: stage changes and a reset (new epoch) arrive live; totals restart from zero", async () => {
  const c = await live(client(server, { viewer: "v2-b" }));
  const closed = nextEvent(c, "stage", (s) => !s.open);
  await admin(server, "POST", "/api/shows/demo/stage", { act: "act-1", open: false });
  await closed;
  assert.equal(await c.buzz("act-1"), "voting_closed");
  const open = nextEvent(c, "stage", (s) => s.open && s.act === "act-2");
  await admin(server, "POST", "/api/shows/demo/stage", { act: "act-2", open: true });
  await open;
  const epoch = c.epoch;
  const reset = nextEvent(c, "show", (s) => s.epoch !== epoch);
  await admin(server, "POST", "/api/shows/demo/reset");
  await reset;
  assert.deepEqual(
    Object.values(c.totals).filter((n) => n > 0),
    [],
  );
  assert.equal(await c.buzz("act-2"), "counted");
  await until(c, () => c.total("act-2") === 1, "act-2 to count 1 in the new epoch");
});

test("auto chooses v2 on a server that speaks it", async () => {
  const c = await live(client(server, { protocol: "auto", viewer: "auto-v" }));
  assert.equal(c.protocol, "v2");
});

for (const protocol of ["v1", "v2"] as const) {
  test(`${protocol}: with VIEWER_TOKEN_SECRET the token from getToken is the viewer; without one the client stops at 4012`, async () => {
    let calls = 0;
    const c = await live(client(secured, { protocol, getToken: () => (calls++, token(`viewer-${protocol}`)) }));
    assert.equal(calls, 1);
    const before = c.total("act-1");
    assert.equal(await c.buzz("act-1"), "counted");
    const again = await live(client(secured, { protocol, getToken: () => token(`viewer-${protocol}`) }));
    assert.equal(await again.buzz("act-1"), "duplicate", "the same token subject is the same viewer");
    await until(c, () => c.total("act-1") === before + 1, "the counted buzz");

    const anonymous = client(secured, { protocol });
    const closed = nextEvent(anonymous, "state", (s) => s.state === "closed");
    anonymous.connect();
    assert.equal((await closed).code, CLOSE.unauthorized.code);
  });
}

test("an expired token is refused with 4012 and the client comes back with a fresh one", async () => {
  const tokens = [token("fresh-viewer", -60), token("fresh-viewer")];
  const c = client(secured, { getToken: () => tokens.shift()! });
  const refused = nextEvent(c, "state", (s) => s.code === CLOSE.unauthorized.code);
  c.connect();
  assert.equal((await refused).state, "reconnecting");
  await until(c, () => c.state === "live", "live with the fresh token");
  assert.equal(tokens.length, 0);
});
