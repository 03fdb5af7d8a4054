/**
 * The HTTP API's answers as docs/protocol.md documents them: every error is
 * `{"error": {"code", "message"}}` with the documented status and code; the public show state
 * omits `durable` when the node keeps no record (the embedded default).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningServer } from "./harness/server.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({ TICK_MS: "50" });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

async function call(
  method: string,
  path: string,
  opts: { token?: string | null; body?: string } = {},
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = opts.token === undefined ? srv.adminToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(srv.url + path, { method, headers, ...(opts.body === undefined ? {} : { body: opts.body }) });
  return { status: res.status, json: await res.json() };
}

/** Asserts the documented error shape, exactly: one `error` object with a string code and message. */
function assertError(r: { status: number; json: unknown }, status: number, code: string, what: string): void {
  assert.equal(r.status, status, what);
  const body = r.json as { error?: { code?: unknown; message?: unknown } };
  assert.deepEqual(Object.keys(body), ["error"], `${what}: only an error field`);
  assert.deepEqual(Object.keys(body.error ?? {}).sort(), ["code", "message"], what);
  assert.equal(body.error?.code, code, what);
  assert.ok(typeof body.error?.message === "string" && body.error.message.length > 0, `${what}: a message`);
}

const show = JSON.stringify({ title: "T", acts: [{ id: "a", name: "A" }] });

test("every documented error status comes back with its code in the one error shape", async () => {
  assertError(await call("PUT", "/api/shows/x", { token: null, body: show }), 401, "unauthorized", "no token");
  assertError(await call("POST", "/api/shows/demo/reset", { token: "wrong" }), 401, "unauthorized", "wrong token");
  assertError(await call("GET", "/api/admin/session", { token: "wrong" }), 401, "unauthorized", "session check");
  assertError(await call("PUT", "/api/shows/bad%20id", { body: show }), 400, "bad_request", "bad show id");
  assertError(await call("PUT", "/api/shows/x", { body: "{not json" }), 400, "bad_request", "body not JSON");
  assertError(await call("PUT", "/api/shows/x", { body: JSON.stringify({ title: "", acts: [] }) }), 400, "bad_request", "schema");
  assertError(
    await call("PUT", "/api/shows/x", {
      body: JSON.stringify({
        title: "T",
        acts: [
          { id: "a", name: "A" },
          { id: "a", name: "B" },
        ],
      }),
    }),
    400,
    "bad_request",
    "duplicate act ids",
  );
  assertError(
    await call("POST", "/api/shows/demo/stage", { body: JSON.stringify({ act: "ghost", open: true }) }),
    400,
    "unknown_act",
    "stage names no act of the show",
  );
  assertError(await call("GET", "/api/shows/nope", { token: null }), 404, "unknown_show", "public state of an unknown show");
  assertError(
    await call("POST", "/api/shows/nope/stage", { body: JSON.stringify({ act: null, open: false }) }),
    404,
    "unknown_show",
    "stage of an unknown show",
  );
  assertError(await call("POST", "/api/shows/nope/reset"), 404, "unknown_show", "reset of an unknown show");
  assertError(await call("GET", "/api/nothing", { token: null }), 404, "not_found", "unknown API route");
  assertError(await call("DELETE", "/api/shows/demo"), 404, "not_found", "unsupported method");
  assertError(
    await call("PUT", "/api/shows/big", { body: JSON.stringify({ title: "T", acts: [], pad: "x".repeat(70 * 1024) }) }),
    413,
    "too_large",
    "body over 64 KB",
  );
  // Nothing above changed anything.
  assertError(await call("GET", "/api/shows/x", { token: null }), 404, "unknown_show", "no show was created");
});

test("the public show state has no durable totals when the node keeps no record", async () => {
  const r = await call("GET", "/api/shows/demo", { token: null });
  assert.equal(r.status, 200);
  const state = r.json as Record<string, unknown>;
  assert.deepEqual(Object.keys(state).sort(), ["epoch", "seq", "show", "stage", "totals", "version", "watching"]);
  assert.ok(!("durable" in state), "durable omitted, not all zeros");
});
