import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "./rate-limiter.ts";

test("burst passes, then refused until refilled", () => {
  const rl = new RateLimiter(10, 3, 100);
  const b = rl.fresh(0);
  assert.deepEqual([rl.take(b, 0), rl.take(b, 0), rl.take(b, 0), rl.take(b, 0)], ["ok", "ok", "ok", "limited"]);
  assert.equal(rl.take(b, 99), "limited");
  assert.equal(rl.take(b, 100), "ok"); // 100 ms at 10/s = one token
});

test("a client slightly over the rate still gets the rate through", () => {
  const rl = new RateLimiter(10, 2, 1000);
  const b = rl.fresh(0);
  let ok = 0;
  for (let t = 0; t < 10_000; t += 1000 / 12) if (rl.take(b, t) === "ok") ok++; // 12/s for 10 s
  assert.ok(ok >= 99 && ok <= 102, `ok=${ok}`);
});

test("far above the rate becomes flood; slightly above never does", () => {
  const rl = new RateLimiter(10, 5, 50);
  const flood = rl.fresh(0);
  const results = Array.from({ length: 100 }, () => rl.take(flood, 0));
  assert.equal(results.at(-1), "flood");
  const polite = rl.fresh(0);
  for (let t = 0; t < 60_000; t += 1000 / 15) assert.notEqual(rl.take(polite, t), "flood");
});

test("perSec 0 disables the limiter", () => {
  const rl = new RateLimiter(0, 1, 1);
  const b = rl.fresh(0);
  assert.equal(rl.enabled, false);
  for (let i = 0; i < 1000; i++) assert.equal(rl.take(b, 0), "ok");
});
