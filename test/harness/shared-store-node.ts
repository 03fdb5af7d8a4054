/**
 * A SharedStore as the store tests drive it: no L1 in front of the global cache (every read reaches
 * it), no timed persist (a test flushes and settles the record writer itself), the close's
 * reconciliation at once, a durable record. Started before it is returned.
 */
import type { Cache } from "../../server/cache/cache.ts";
import { DualCache } from "../../server/cache/dual-cache.ts";
import { silentLogger } from "../../server/ops/logger.ts";
import type { Record } from "../../server/record/record.ts";
import { SharedStore } from "../../server/store/shared-store.ts";
import type { SharedStoreOptions } from "../../server/store/shared-store-options.ts";

export async function sharedStoreNode(
  global: Cache,
  record: Record,
  nodeId: string,
  extra: Partial<SharedStoreOptions> = {},
): Promise<SharedStore> {
  const s = new SharedStore(
    new DualCache(global, { l1TtlMs: 0 }),
    global,
    record,
    { nodeId, tickMs: 100, persistIntervalMs: 3_600_000, reconcileDelayMs: 0, durable: true, ...extra },
    silentLogger,
  );
  await s.start();
  return s;
}
