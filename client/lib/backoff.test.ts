import assert from "node:assert/strict";
import { test } from "node:test";
import { CLOSE, reconnectRule } from "../../shared/codes.ts";
import { DEFAULT_RECONNECT, reconnectDelay } from "./backoff.ts";

const opts = { minMs: 100, maxMs: 1_000, immediateJitterMs: 300 };

test("never-closes give no delay: the client must not come back", () => {
  for (const [name, entry] of Object.entries(CLOSE)) {
    const d = reconnectDelay(reconnectRule(entry.code), 0, opts, () => 0.5);
    if (entry.reconnect === "never") assert.equal(d, null, name);
    else assert.notEqual(d, null, name);
  }
  assert.equal(reconnectDelay(reconnectRule(1009), 0, opts, Math.random), null);
});

test("a drain reconnects within the jitter window, spread by the random source", () => {
  const rule = reconnectRule(CLOSE.draining.code);
  assert.equal(rule, "immediate");
  assert.equal(reconnectDelay(rule, 7, opts, () => 0), 0);
  assert.equal(reconnectDelay(rule, 7, opts, () => 0.999), 299);
});

test("backoff doubles per attempt, stays in [base/2, base] and is capped at maxMs", () => {
  const lo = (a: number) => reconnectDelay("backoff", a, opts, () => 0);
  const hi = (a: number) => reconnectDelay("backoff", a, opts, () => 0.9999);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(lo), [50, 100, 200, 400, 500, 500]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(hi), [99, 199, 399, 799, 999, 999]);
  assert.equal(lo(10_000), 500, "huge attempt counts do not overflow");
});

test("unknown and abnormal codes back off", () => {
  for (const code of [1000, 1005, 1006, 1012, 3000]) assert.equal(reconnectRule(code), "backoff");
  assert.ok(DEFAULT_RECONNECT.minMs < DEFAULT_RECONNECT.maxMs);
});
