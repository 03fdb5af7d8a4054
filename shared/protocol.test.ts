import { test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE, REJECT_REASONS, closeName, reconnectDelayMs, reconnectRule } from "./codes.ts";
import { Ack, ClientMessage, Hello, ServerMessage, ViewerId, Welcome } from "./protocol.ts";
import { V2EncodeError, encodeClientFrame } from "./v2/index.ts";
import { viewerIdProblem } from "./viewer-id.ts";

test("client frames: hello and buzz parse; anything else is refused", () => {
  assert.deepEqual(ClientMessage.parse({ type: "hello", protocol: 1, show: "demo" }), { type: "hello", protocol: 1, show: "demo" });
  assert.deepEqual(ClientMessage.parse({ type: "hello", protocol: 1, show: "demo", viewer: "v-1" }).type, "hello");
  assert.deepEqual(ClientMessage.parse({ type: "buzz", act: "act-1", seq: 0 }), { type: "buzz", act: "act-1", seq: 0 });
  for (const bad of [
    {},
    { type: "buzz" },
    { type: "buzz", act: "a", seq: -1 },
    { type: "buzz", act: "a", seq: 1.5 },
    { type: "buzz", act: "a b", seq: 1 },
    { type: "buzz", act: "x".repeat(65), seq: 1 },
    { type: "hello", protocol: "1", show: "demo" },
    { type: "hello", protocol: 1, show: "" },
    { type: "ping" },
    null,
    42,
    "buzz",
  ])
    assert.equal(ClientMessage.safeParse(bad).success, false, JSON.stringify(bad));
});

test("server frames round-trip through the discriminated union", () => {
  const welcome = {
    type: "welcome",
    protocol: 1,
    show: { id: "demo", title: "T", acts: [{ id: "a", name: "A" }] },
    stage: { act: "a", open: true },
    tickMs: 100,
    epoch: "e1",
    seq: 3,
    totals: { a: 2 },
  };
  assert.deepEqual(Welcome.parse(welcome), welcome);
  assert.equal(ServerMessage.parse({ type: "totals", show: "demo", epoch: "e1", seq: 4, ts: 1, totals: { a: 3 } }).type, "totals");
  assert.equal(ServerMessage.parse({ type: "stage", act: null, open: false }).type, "stage");
  assert.equal(ServerMessage.parse({ type: "error", code: "bad_frame", message: "x" }).type, "error");
  // A reason this version does not know is read, not refused: "not counted, reason unnamed".
  assert.deepEqual(Ack.parse({ type: "ack", seq: 2, counted: 1, rejected: { bogus: 1, duplicate: 0 }, last: "bogus" }), {
    type: "ack",
    seq: 2,
    counted: 1,
    rejected: { duplicate: 0 },
    rejectedOther: 1,
    last: "rejected_other",
  });
  assert.equal(Ack.safeParse({ type: "ack", seq: 1, counted: 0, rejected: { bogus: -1 }, last: "counted" }).success, false);
  assert.equal(Ack.safeParse({ type: "ack", seq: 1, counted: 0, rejected: {}, last: "" }).success, false);
  assert.equal(Ack.safeParse({ type: "ack", seq: 1, counted: 0, rejected: { duplicate: 1 }, last: "duplicate" }).success, true);
  assert.equal(ServerMessage.safeParse({ type: "totals", show: "demo", epoch: "e", seq: 1, ts: 1, totals: { a: -1 } }).success, false);
});

test("close table: unique codes in the right ranges, each with a reconnect rule", () => {
  const codes = Object.values(CLOSE).map((c) => c.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const [name, c] of Object.entries(CLOSE)) {
    assert.ok(c.code === 1001 || c.code === 1011 || (c.code >= 4000 && c.code < 5000), name);
    assert.equal(closeName(c.code), name);
    assert.equal(reconnectRule(c.code), c.reconnect);
  }
  assert.equal(reconnectRule(1001), "immediate");
  assert.equal(reconnectRule(4000), "never");
  assert.equal(reconnectRule(1006), "backoff");
  assert.equal(reconnectRule(1009), "never");
  assert.equal(reconnectRule(4012), "fresh_token");
  assert.equal(closeName(4012), "unauthorized");
  // A refused token waits like backoff (full jitter), never reconnects at once.
  assert.equal(
    reconnectDelayMs("fresh_token", 0, () => 0.999),
    reconnectDelayMs("backoff", 0, () => 0.999),
  );
  assert.ok((reconnectDelayMs("fresh_token", 3, () => 0.5) ?? 0) > 0);
  assert.ok(REJECT_REASONS.includes("duplicate") && REJECT_REASONS.includes("voting_closed"));
});

test("viewer ids: well-formed Unicode, no control characters, no white space at either end", () => {
  const ok = ["v-1", "ünï 🐝", "a b", "x".repeat(128), "😀".repeat(64)];
  const bad = [
    "",
    "x".repeat(129),
    "x\ud800", // lone high surrogate
    "x\udbff",
    "\udc00x", // lone low surrogate
    "a\u0000",
    "a\nb", // C0: a line break
    "a\rb",
    "a\tb",
    "a\u007f", // DEL
    "a\u0085", // C1 (NEL)
    "a\u009f",
    " a",
    "a ",
    "\u00a0a", // no-break space
    "a\u3000", // ideographic space
    "\ufeffa",
  ];
  for (const v of ok) assert.equal(viewerIdProblem(v), null, JSON.stringify(v));
  for (const v of bad) {
    assert.notEqual(viewerIdProblem(v), null, JSON.stringify(v));
    assert.equal(ViewerId.safeParse(v).success, false, JSON.stringify(v));
    assert.equal(Hello.safeParse({ type: "hello", protocol: 1, show: "demo", viewer: v }).success, false);
    assert.throws(() => encodeClientFrame({ type: "hello", show: "demo", viewer: v }), V2EncodeError);
  }
  assert.equal(CLOSE.bad_viewer.code, 4013);
  assert.equal(reconnectRule(CLOSE.bad_viewer.code), "never");
});
