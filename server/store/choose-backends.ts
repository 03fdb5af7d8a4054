/**
 * Backends for a shared deployment: live totals through the dual cache over memcached, the record
 * in MySQL. Either may be configured alone: memcached without MySQL shares live totals but keeps
 * no durable record (a warning says so); MySQL without memcached is one durable node (an in-process
 * cache stands in for memcached).
 */
import { DualCache } from "../cache/dual-cache.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import type { Cache } from "../cache/cache.ts";
import type { Config } from "../config.ts";
import { SharedStore } from "./shared-store.ts";
import type { Backends } from "../node.ts";
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { MysqlRecord } from "../record/mysql-record.ts";
import type { Record } from "../record/record.ts";
import { SharedShowSource } from "../shows/shared-show-source.ts";

/** How long start-up keeps trying to reach MySQL before giving up. */
const START_RETRY_MS = 30_000;

export async function createSharedBackends(cfg: Config, log: Logger): Promise<Backends> {
  let global: Cache;
  if (cfg.MEMCACHED_SERVERS) {
    global = new MemcachedCache({ servers: cfg.MEMCACHED_SERVERS, onLog: (m) => log.debug("memjs", { m }) });
  } else {
    log.warn("MYSQL_URL without MEMCACHED_SERVERS: live totals are not shared with other nodes");
    global = new MemoryCache();
  }
  let record: Record;
  if (cfg.MYSQL_URL) {
    const mysql = new MysqlRecord(cfg.MYSQL_URL);
    await retry(() => mysql.migrate(), START_RETRY_MS, log, "mysql");
    record = mysql;
  } else {
    log.warn("MEMCACHED_SERVERS without MYSQL_URL: counts are not durable (no record)");
    record = new MemoryRecord();
    await record.migrate();
  }
  // Counters and show polls must see other nodes' changes every tick: L1 lives at most one tick.
  const dual = new DualCache(global, { l1TtlMs: Math.min(cfg.L1_TTL_MS, cfg.TICK_MS) });
  const pollMs = cfg.TICK_MS;
  const store = new SharedStore(dual, global, record, {
    nodeId: cfg.NODE_ID,
    persistIntervalMs: cfg.PERSIST_INTERVAL_MS,
    // Every node must have seen the close (one poll) and persisted (one interval), with margin.
    reconcileDelayMs: 2 * pollMs + 2 * cfg.PERSIST_INTERVAL_MS + 500,
  }, log);
  await store.start();
  log.info("shared mode", { memcached: cfg.MEMCACHED_SERVERS ?? null, mysql: cfg.MYSQL_URL ? redact(cfg.MYSQL_URL) : null, node: cfg.NODE_ID });
  const cacheMetrics = (): Family[] => [{
    name: "buzzcast_global_cache_ops_total", help: "Operations sent to the global cache (memcached), by op.", kind: "counter",
    samples: (["globalGets", "globalSets", "globalAdds", "globalIncrs", "globalDeletes", "globalErrors"] as const).map((k) => ({ labels: { op: k.slice(6).toLowerCase() }, value: dual.stats[k] })),
  }, {
    name: "buzzcast_l1_hits_total", help: "Dual cache reads answered from the local L1.", kind: "counter", samples: [{ value: dual.stats.l1Hits }],
  }];
  return {
    store,
    showSource: new SharedShowSource(dual, record, log),
    showPollMs: pollMs,
    metrics: () => [...store.metrics(), ...cacheMetrics()],
  };
}

async function retry(fn: () => Promise<void>, forMs: number, log: Logger, what: string): Promise<void> {
  const until = Date.now() + forMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      log.warn(`${what} not reachable yet; retrying`, { err });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
