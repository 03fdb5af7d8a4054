/**
 * Viewer tokens, client side: getToken() before every connection attempt, the
 * token in hello (v1 JSON and v2 binary), and the 4012 `unauthorized` rule: back with a fresh token
 * when getToken is given, stop otherwise. Against the scripted server of fake-server.ts.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { WebSocket } from "ws";
import { CLOSE } from "../../shared/codes.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { fakeServer, type FakeConn, type FakeServer } from "./fake-server.ts";
import { BuzzClient, type BuzzClientOptions, type StateChange } from "./index.ts";
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
  const c = new BuzzClient({ url, show: "s", WebSocket, reconnect: { baseMs: 20, maxMs: 50, immediateJitterMs: 10 }, ...opts });
  clients.push(c);
  return c;
}
/** Refuses the first connection's hello as a server with VIEWER_TOKEN_SECRET would (error + 4012). */
function refuseFirst(c: FakeConn, type: string): "refused" | undefined {
  if (type !== "hello" || c.n !== 0) return undefined;
  const { code } = CLOSE.unauthorized;
  c.send(
    c.ws.protocol === "" ? { type: "error", code: "unauthorized", message: "token expired" } : { type: "error", close: code, message: "x" },
  );
  c.ws.close(code, "unauthorized");
  return "refused";
}
const hellos = (f: FakeServer) => f.seen.map((frames) => frames.find((x) => x.msg.type === "hello")?.msg);

for (const protocol of ["v1", "v2"] as const) {
  test(`${protocol}: a fresh token per attempt; after 4012 the client comes back with the next one`, async () => {
    const f = await fake({ v2: true, script: (c, { msg }) => refuseFirst(c, msg.type) });
    let n = 0;
    const c = client(f.url, { protocol, viewer: "v", getToken: async () => `token-${++n}` });
    const errors: string[] = [];
    c.on("error", (e) => errors.push(e.code));
    c.connect();
    await until(c, () => c.state === "live", "live after the refusal");
    const base = protocol === "v1" ? { type: "hello", protocol: 1, show: "s", viewer: "v" } : { type: "hello", show: "s", viewer: "v" };
    assert.deepEqual(hellos(f), [
      { ...base, token: "token-1" },
      { ...base, token: "token-2" },
    ]);
    assert.equal(n, 2, "getToken ran once per attempt");
    assert.ok(errors.includes("unauthorized"));
  });
}

test("4012 without getToken: the client stops (reconnecting would resend the same refusal)", async () => {
  const f = await fake({ v2: false, script: (c, { msg }) => refuseFirst(c, msg.type) });
  const c = client(f.url);
  const states: StateChange[] = [];
  c.on("state", (s) => states.push(s));
  const closed = nextEvent(c, "state", (s) => s.state === "closed");
  c.connect();
  assert.equal((await closed).code, CLOSE.unauthorized.code);
  assert.deepEqual(
    states.map((s) => s.state),
    ["connecting", "closed"],
  );
  assert.equal(f.offers.length, 1);
});

test("getToken failing or answering nonsense is reported and retried with backoff; close() drops a late token", async () => {
  const f = await fake({ v2: false });
  const answers: Array<() => Promise<string>> = [
    () => Promise.reject(new Error("token service down")),
    () => Promise.resolve(""),
    () => Promise.resolve("good"),
  ];
  const c = client(f.url, { getToken: () => answers.shift()!() });
  const errors: string[] = [];
  c.on("error", (e) => errors.push(e.code));
  c.connect();
  await until(c, () => c.state === "live", "live with the third token");
  assert.deepEqual(errors, ["token_unavailable", "token_unavailable"]);
  assert.deepEqual(hellos(f), [{ type: "hello", protocol: 1, show: "s", token: "good" }], "nothing was opened without a token");

  let release: (t: string) => void = () => {};
  const late = client(f.url, { getToken: () => new Promise<string>((r) => (release = r)) });
  late.connect();
  late.close();
  release("too-late");
  await waitFor(() => late.state === "closed", { what: "closed" });
  await new Promise((r) => setImmediate(r));
  assert.equal(f.offers.length, 1, "no socket was opened for a token that arrived after close()");
});

test("a getToken that never answers is bounded by connectTimeoutMs", async () => {
  const f = await fake({ v2: false });
  let calls = 0;
  const c = client(f.url, {
    connectTimeoutMs: 100,
    getToken: () => (++calls === 1 ? new Promise<string>(() => {}) : "t"),
  });
  const timeout = nextEvent(c, "error", (e) => e.code === "connect_timeout");
  c.connect();
  await timeout;
  await until(c, () => c.state === "live", "live on the second attempt");
  assert.equal(calls, 2);
});

test("close() from a state listener stops the reconnect that state announced (a page giving up on a refused token)", async () => {
  const f = await fake({ v2: false, script: (c, { msg }) => refuseFirst(c, msg.type) });
  const c = client(f.url, { getToken: () => "t", reconnect: { baseMs: 1, maxMs: 2, immediateJitterMs: 1 } });
  c.on("state", (s) => {
    if (s.code === CLOSE.unauthorized.code) c.close();
  });
  const closed = nextEvent(c, "state", (s) => s.state === "closed");
  c.connect();
  await closed;
  await new Promise((r) => setTimeout(r, 50)); // 25 retry windows: a reconnect would show up
  assert.equal(f.offers.length, 1);
});
