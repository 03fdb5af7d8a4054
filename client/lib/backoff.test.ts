import assert from "node:assert/strict";
import { test } from "node:test";
import { CLOSE, RECONNECT_BACKOFF, backoffCeilingMs, reconnectDelayMs, reconnectRule } from "../../shared/codes.ts";
import { DEFAULT_RECONNECT, reconnectDelay } from "./backoff.ts";

const opts = { baseMs: 100, maxMs: 1_000, immediateJitterMs: 300 };

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
  assert.equal(
    reconnectDelay(rule, 7, opts, () => 0),
    0,
  );
  assert.equal(
    reconnectDelay(rule, 7, opts, () => 0.999),
    299,
  );
});

test("full jitter: attempt n waits in [0, min(max, base * 2^n)), the window doubling up to the cap", () => {
  const lo = (a: number) => reconnectDelay("backoff", a, opts, () => 0);
  const hi = (a: number) => reconnectDelay("backoff", a, opts, () => 0.9999);
  const mid = (a: number) => reconnectDelay("backoff", a, opts, () => 0.5);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(lo), [0, 0, 0, 0, 0, 0], "full jitter may retry at once");
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(hi), [99, 199, 399, 799, 999, 999]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(mid), [50, 100, 200, 400, 500, 500]);
  assert.equal(hi(10_000), 999, "huge attempt counts do not overflow");
  assert.equal(backoffCeilingMs(-3, opts), 100, "a negative attempt is the first one");
});

test("the shared table is the documented rule: base 500 ms, doubling to 30 s, full jitter, drains within 1 s", () => {
  assert.deepEqual(RECONNECT_BACKOFF, { baseMs: 500, maxMs: 30_000, jitter: "full", immediateJitterMs: 1_000 });
  assert.deepEqual({ ...DEFAULT_RECONNECT }, { baseMs: 500, maxMs: 30_000, immediateJitterMs: 1_000 });
  const ceilings = Array.from({ length: 9 }, (_, a) => backoffCeilingMs(a));
  assert.deepEqual(ceilings, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  // Uniform over the window: over many draws the mean is about half of it, and none reach it.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const draws = Array.from({ length: 20_000 }, () => reconnectDelayMs("backoff", 8, random)!);
  assert.ok(draws.every((d) => d >= 0 && d < 30_000));
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  assert.ok(Math.abs(mean - 15_000) < 500, `mean ${mean}`);
  assert.ok(
    draws.some((d) => d < 1_000),
    "full jitter reaches the bottom of the window",
  );
});

test("unknown and abnormal codes back off", () => {
  for (const code of [1000, 1005, 1006, 1012, 3000]) assert.equal(reconnectRule(code), "backoff");
});
