/**
 * chooseBackends over real memcached: the shared store's waits follow TICK_MS and
 * PERSIST_INTERVAL_MS from the config (they once assumed a 100 ms tick whatever TICK_MS said).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config.ts";
import { silentLogger } from "../ops/logger.ts";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { chooseBackends } from "./choose-backends.ts";
import { SharedStore } from "./shared-store.ts";

let mc: RunningMemcached;
before(async () => {
  mc = await startMemcached();
});
after(async () => {
  await mc.stop();
});

for (const [tick, persist] of [
  [40, 200],
  [100, 1000],
  [500, 1000],
] as const) {
  test(`TICK_MS=${tick}, PERSIST_INTERVAL_MS=${persist}: the claim grace and the reconcile delay follow them`, async () => {
    const cfg = parseConfig({ MEMCACHED_SERVERS: mc.address, TICK_MS: String(tick), PERSIST_INTERVAL_MS: String(persist), WORKERS: "1" });
    const b = await chooseBackends(cfg, silentLogger, null);
    try {
      assert.ok(b.store instanceof SharedStore);
      assert.deepEqual(
        { ...b.store.timing },
        { claimGraceMs: 10 * tick + 1000, reconcileDelayMs: 2 * tick + 2 * persist + 500 },
        "as docs/architecture.md states them",
      );
    } finally {
      await b.store.close();
    }
  });
}
