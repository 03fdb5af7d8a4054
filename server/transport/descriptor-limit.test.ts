import { test } from "node:test";
import assert from "node:assert/strict";
import { Admission } from "./admission.ts";
import { descriptorBudget, parseNofileLimit, readNofileLimit } from "./descriptor-limit.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             95880                95880                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test("the soft 'Max open files' is the limit; unlimited or missing is none", () => {
  assert.equal(parseNofileLimit(LIMITS), 1024);
  assert.equal(parseNofileLimit(LIMITS.replace("1024 ", "unlimited ")), null);
  assert.equal(parseNofileLimit("Max processes 10 10 processes\n"), null);
  assert.equal(readNofileLimit("/nonexistent/limits"), null, "no procfs: no limit known");
});

test("margin = max(64, 2% of the limit), the rest shared equally by the workers", () => {
  assert.deepEqual(descriptorBudget(256, 1), { limit: 256, margin: 64, perWorker: 192 });
  assert.deepEqual(descriptorBudget(20_000, 1), { limit: 20_000, margin: 400, perWorker: 19_600 });
  assert.deepEqual(descriptorBudget(20_000, 3), { limit: 20_000, margin: 400, perWorker: 6_533 });
  assert.deepEqual(descriptorBudget(50, 1), { limit: 50, margin: 64, perWorker: 0 });
  assert.equal(descriptorBudget(null, 4).perWorker, Infinity);
});

test("admission refuses server_full at the cap (503, Retry-After), before spending a rate token", () => {
  const adm = new Admission(
    { ratePerSec: 1, ratePerIpPerSec: 0, trustedProxies: [], allowedOrigins: undefined, maxOpen: 2, random: () => 0 },
    0,
  );
  const full = adm.check("", "10.0.0.1", "", 0, 2);
  assert.equal(full?.reason, "server_full");
  assert.equal(full?.status, 503);
  assert.ok((full?.retryAfterSec ?? 0) >= 1);
  assert.equal(adm.check("", "10.0.0.1", "", 0, 1), null, "below the cap: admitted, the node bucket still had its tokens");
  assert.equal(adm.refused.server_full, 1);
  assert.equal(adm.shedding(0), false, "a full node is not shedding a connect storm");
});
