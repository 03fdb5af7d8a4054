/**
 * The one place the backends are chosen from the config, for every process shape:
 *  - embedded (neither MEMCACHED_SERVERS nor MYSQL_URL): one process (WORKERS=1) keeps totals in a
 *    MemoryStore; a worker thread (WORKERS>1) adds to the node's shared counters (AtomicStore) and
 *    gets shows from the supervisor's relay. The supervisor asks `backendMode` whether to make the
 *    counter buffer and the relay at all.
 *  - shared: live totals through the dual cache over memcached, the record in MySQL. Either may be
 *    configured alone: memcached without MySQL shares live totals but keeps no durable record (a
 *    warning says so); MySQL without memcached is one durable node (an in-process cache stands in
 *    for memcached; with worker threads, the supervisor's one cache, shared by all of them). Every
 *    worker thread is then a node of its own, with its own clients.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DualCache } from "../cache/dual-cache.ts";
import { MemcachedCache } from "../cache/memcached-cache.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import type { Cache } from "../cache/cache.ts";
import type { Config } from "../config.ts";
import { SharedStore } from "./shared-store.ts";
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import { MemoryRecord } from "../record/memory-record.ts";
import { MysqlRecord } from "../record/mysql-record.ts";
import { NODE_LEASE_RENEW_MS, NODE_LEASE_TTL_MS, NodeLease } from "../record/node-lease.ts";
import type { PublicRecordReads, Record } from "../record/record.ts";
import { SharedShowSource } from "../shows/shared-show-source.ts";
import { MemoryShowSource, type ShowSource } from "../shows/show-source.ts";
import { AtomicStore, type SlotClient } from "./atomic-store.ts";
import { MemoryStore } from "./memory-store.ts";
import { replayAndOpen } from "./journal-replay.ts";
import { JournalError, type Journal } from "./journal.ts";
import { storeFamilies } from "./store-metrics.ts";
import type { Store } from "./store.ts";
import type { FlushQuorum } from "./flush-quorum.ts";
import { SharedFlushQuorum } from "./shared-flush-quorum.ts";

export interface Backends {
  store: Store;
  showSource: ShowSource;
  /** How often to ask the show source for changes made on other nodes (0 = never). */
  showPollMs: number;
  /** Extra metric families from the backends, read at scrape time. */
  metrics?: () => Family[];
  /** The durable record (MYSQL_URL only), read by the audit, timeline and export routes. */
  record?: Record;
  /** MYSQL_URL only: this process's lease on NODE_ID (record/node-lease.ts; the store releases it after its final commit). */
  lease?: { checks(): { [check: string]: string } };
  /** The record's pool for public reads (MYSQL_URL only): the public timeline and durable totals. */
  publicReads?: PublicRecordReads;
  /** Shared mode: tells phase 2 when every unit's flush landed (flush-quorum.ts). */
  quorum?: FlushQuorum;
}

export type BackendMode = "embedded" | "shared";

export function backendMode(cfg: Config): BackendMode {
  return cfg.MEMCACHED_SERVERS || cfg.MYSQL_URL ? "shared" : "embedded";
}

/** What an embedded worker thread brings from its supervisor. */
export interface WorkerShare {
  /** The node's counters (BigInt64Array over it), shared by every worker. */
  counters: SharedArrayBuffer;
  /** The supervisor's slot table, over the worker's RPC. */
  slots: SlotClient;
  /** Shows relayed by the supervisor. */
  shows: ShowSource;
}

/** `worker`: given in an embedded worker thread, null in a single process (and ignored when shared). */
/**
 * `nodeCache`: with MySQL and no memcached, the cache the node's worker threads share (the
 * supervisor's, cluster/thread-cache.ts); null in a single process, which keeps its own.
 */
export async function chooseBackends(
  cfg: Config,
  log: Logger,
  worker: WorkerShare | null,
  nodeCache: Cache | null = null,
): Promise<Backends> {
  if (backendMode(cfg) === "shared") return createSharedBackends(cfg, log, nodeCache);
  if (worker) {
    const store = new AtomicStore(worker.counters, worker.slots, log);
    const metrics = (): Family[] => [
      ...storeFamilies(store),
      {
        name: "buzzcast_store_slot_errors_total",
        help: "Counter slot requests to the supervisor that failed (deltas retained).",
        kind: "counter",
        samples: [{ value: store.slotErrors }],
      },
    ];
    return { store, showSource: worker.shows, showPollMs: cfg.TICK_MS, metrics };
  }
  if (cfg.WORKERS > 1) throw new Error("an embedded worker thread needs the node's counter table");
  log.info("embedded mode: in-process stores (set MEMCACHED_SERVERS and MYSQL_URL to share and persist)");
  const store = new MemoryStore();
  return { store, showSource: new MemoryShowSource(), showPollMs: 0, metrics: () => storeFamilies(store) };
}

/** How long start-up keeps trying to reach MySQL before giving up. */
const START_RETRY_MS = 30_000;

async function createSharedBackends(cfg: Config, log: Logger, nodeCache: Cache | null): Promise<Backends> {
  let global: Cache;
  if (cfg.MEMCACHED_SERVERS) {
    global = new MemcachedCache({ servers: cfg.MEMCACHED_SERVERS, onLog: (m) => log.debug("memjs", { m }) });
  } else {
    log.warn("MYSQL_URL without MEMCACHED_SERVERS: live totals are not shared with other nodes");
    global = nodeCache ?? new MemoryCache();
  }
  let record: Record;
  let lease: NodeLease | null = null;
  let publicReads: PublicRecordReads | undefined;
  if (cfg.MYSQL_URL) {
    const mysql = new MysqlRecord(cfg.MYSQL_URL);
    await retry(() => mysql.migrate(), START_RETRY_MS, log, "mysql");
    // Before the store reads this node's last batch seq: one live process per NODE_ID. The wait
    // covers a predecessor's drain (it releases after its last commit) or a SIGKILLed one's lease.
    lease = new NodeLease(mysql, cfg.NODE_ID, {
      ttlMs: NODE_LEASE_TTL_MS,
      renewMs: NODE_LEASE_RENEW_MS,
      waitMs: cfg.DRAIN_TIMEOUT_MS + 2 * NODE_LEASE_TTL_MS,
      log,
      // Another process has this NODE_ID now: take no more buzzes (they could not be persisted).
      // The whole process drains (ops/lifecycle.ts), worker threads included.
      onLost: () => process.kill(process.pid, "SIGTERM"),
    });
    await lease.acquire();
    record = mysql;
    publicReads = mysql.publicReads;
  } else {
    log.warn("MEMCACHED_SERVERS without MYSQL_URL: counts are not durable (no record)");
    record = new MemoryRecord();
    await record.migrate();
  }
  // Counters and show polls must see other nodes' changes every tick: L1 lives at most one tick.
  const dual = new DualCache(global, { l1TtlMs: Math.min(cfg.L1_TTL_MS, cfg.TICK_MS) });
  const pollMs = cfg.TICK_MS;
  const store = new SharedStore(
    dual,
    global,
    record,
    {
      nodeId: cfg.NODE_ID,
      tickMs: cfg.TICK_MS,
      persistIntervalMs: cfg.PERSIST_INTERVAL_MS,
      durable: cfg.MYSQL_URL !== undefined,
      ...(cfg.MYSQL_URL ? { journal: () => openJournal(cfg, cfg.MYSQL_URL!, record, log) } : {}),
      ...(lease ? { lease } : {}),
      ...(publicReads === undefined ? {} : { publicReads }),
    },
    log,
  );
  await store.start();
  log.info("shared mode", {
    memcached: cfg.MEMCACHED_SERVERS ?? null,
    mysql: cfg.MYSQL_URL ? redact(cfg.MYSQL_URL) : null,
    node: cfg.NODE_ID,
  });
  const showSource = new SharedShowSource(dual, record, log, "bc", cfg.MYSQL_URL !== undefined);
  // Straight to memcached (not the L1): the flushed marks change within a tick.
  const quorum = new SharedFlushQuorum(global, { prefix: "bc", pollMs: Math.max(1, Math.round(cfg.TICK_MS / 100)) }, log);
  const recordMetrics = record instanceof MysqlRecord ? () => record.metrics() : (): Family[] => [];
  return {
    store,
    showSource,
    showPollMs: pollMs,
    ...(cfg.MYSQL_URL ? { record } : {}),
    ...(lease ? { lease } : {}),
    ...(publicReads === undefined ? {} : { publicReads }),
    quorum,
    metrics: () => [
      ...store.metrics(),
      ...dual.metrics(),
      ...showSource.metrics(),
      ...quorum.metrics(),
      ...recordMetrics(),
      ...leaseFamilies(lease),
    ],
  };
}

/**
 * This node's journal under DATA_DIR, after replaying its previous life's (journal-replay.ts). The
 * file is named by NODE_ID (every worker thread, NODE_ID-w<i>, has its own) and by the database it
 * was written for (host, port and name), so a journal is never replayed into another record.
 */
async function openJournal(cfg: Config, mysqlUrl: string, record: Record, log: Logger): Promise<Journal> {
  const u = new URL(mysqlUrl);
  const target = createHash("sha256")
    .update(`${u.hostname}:${u.port || "3306"}${u.pathname}`)
    .digest("hex")
    .slice(0, 12);
  const dir = resolve(cfg.DATA_DIR);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `journal-${cfg.NODE_ID}-${target}.wal`);
  const { journal, buzzes } = await retryValue(
    () => replayAndOpen(record, { path, node: cfg.NODE_ID, fsync: cfg.JOURNAL_FSYNC }, log),
    START_RETRY_MS,
    log,
    "journal replay",
  );
  log.info("journal open", { path, replayed: buzzes, fsync: cfg.JOURNAL_FSYNC });
  return journal;
}

/** Retries while the record is unreachable; a JournalError (the journal itself is wrong) is thrown at once. */
async function retryValue<T>(fn: () => Promise<T>, forMs: number, log: Logger, what: string): Promise<T> {
  const until = Date.now() + forMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof JournalError || Date.now() > until) throw err;
      log.warn(`${what}: record not reachable yet; retrying`, { err });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function leaseFamilies(lease: NodeLease | null): Family[] {
  if (!lease) return [];
  return [
    {
      name: "buzzcast_node_lease_lost",
      help: "1 once another process took this NODE_ID's lease (this one persists nothing more).",
      kind: "gauge",
      samples: [{ value: lease.lost ? 1 : 0 }],
    },
    {
      name: "buzzcast_node_lease_renew_failures_total",
      help: "NODE_ID lease renewals that failed (record unreachable).",
      kind: "counter",
      samples: [{ value: lease.renewFailures }],
    },
  ];
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
