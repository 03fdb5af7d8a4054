/**
 * SharedStore's metric families (read at scrape time; nothing per buzz).
 */
import type { Family } from "../ops/metrics.ts";
import type { SharedStore } from "./shared-store.ts";
import { storeFamilies } from "./store-metrics.ts";

export function sharedStoreFamilies(s: SharedStore): Family[] {
  const g = (name: string, help: string, value: number): Family => ({ name, help, kind: "gauge", samples: [{ value }] });
  const c = (name: string, help: string, value: number): Family => ({ name, help, kind: "counter", samples: [{ value }] });
  const cl = s.claims.counts;
  const w = s.writer.stats;
  return [
    ...storeFamilies(s),
    g(
      "buzzcast_once_claims_held",
      "Once claims waiting for a decision in the store (cache or record unreachable, or record mode).",
      s.claims.held + s.writer.claimsInFlight,
    ),
    c("buzzcast_once_claim_adds_total", "memcached adds of once claim keys (one per claim per attempt).", cl.adds),
    c(
      "buzzcast_once_claim_sentinel_reads_total",
      "Pipelined reads of claim sentinels (at most two per tick with claims).",
      cl.sentinelReads,
    ),
    {
      name: "buzzcast_once_claims_decided_total",
      help: "Once claims decided, by who decided and the outcome.",
      kind: "counter",
      samples: [
        { labels: { by: "cache", outcome: "counted" }, value: cl.counted },
        { labels: { by: "cache", outcome: "duplicate" }, value: cl.duplicates },
        { labels: { by: "record", outcome: "counted" }, value: w.claimsAccepted },
        { labels: { by: "record", outcome: "duplicate" }, value: w.claimsRefused },
      ],
    },
    c("buzzcast_once_claims_discarded_total", "Cache answers thrown away because the epoch's sentinel was gone.", cl.discarded),
    c(
      "buzzcast_once_record_mode_epochs_total",
      "Show epochs whose claims this node decides in the record (the cache lost them).",
      cl.recordModeEpochs,
    ),
    c("buzzcast_record_audit_rows_total", "Audit rows written in record batches.", w.auditRows),
    g("buzzcast_store_uncached_buzzes", "Buzzes counted here but not yet in the global cache.", s.counters.uncached()),
    g("buzzcast_store_unpersisted_buzzes", "Buzzes counted here but not yet committed to the record.", s.counters.unpersisted()),
    c("buzzcast_record_batches_total", "Record batches committed (one transaction each).", s.writer.stats.batches),
    c("buzzcast_record_rows_total", "Count rows upserted into the record.", s.writer.stats.rows),
    c("buzzcast_record_errors_total", "Record writes or pings that failed.", s.writer.stats.errors),
    c("buzzcast_cache_seeds_total", "Global counters re-created from the record.", s.counts.seeds),
    c(
      "buzzcast_cache_seed_conflicts_total",
      "Re-seeds another node made first (own unpersisted buzzes added to it).",
      s.counts.seedConflicts,
    ),
    c(
      "buzzcast_cache_seeds_deferred_total",
      "Re-seeds put off because the record was unreachable (deltas retained).",
      s.counts.seedDeferred,
    ),
    c("buzzcast_cache_errors_total", "Ticks whose cache operations failed.", s.counts.cacheErrors),
    c(
      "buzzcast_live_raised_to_record_buzzes_total",
      "Buzzes added to live totals to bring them up to the record after a close.",
      s.counts.raised,
    ),
    c(
      "buzzcast_reconcile_passes_total",
      "Reconciliation passes run by this node (several per close it reconciles).",
      s.counts.reconcilePasses,
    ),
    c("buzzcast_reconcile_errors_total", "Reconciliation passes (live raised to the record) that failed.", s.reconciler.errors),
    c("buzzcast_cache_phase2_reads_total", "Counter reads of the publish phase (one pipelined read per tick).", s.phase2.reads),
    c(
      "buzzcast_cache_readded_buzzes_total",
      "Buzzes of this node found missing from a counter key another node re-created, and re-added.",
      s.phase2.readded,
    ),
    c(
      "buzzcast_audience_cache_ops_total",
      "memcached operations spent summing the audience (about two per show per second).",
      s.audience.counts.ops,
    ),
    c("buzzcast_audience_sync_errors_total", "Audience syncs with memcached that failed (last sums kept).", s.audience.counts.errors),
    c(
      "buzzcast_cache_incr_uncertain_buzzes_total",
      "Buzzes in increments that timed out (taken as applied; reconciled from the record).",
      s.counts.assumedApplied,
    ),
    g(
      "buzzcast_store_in_doubt_buzzes",
      "Buzzes in memcached writes that timed out and may still land: held back from the record until DOUBT_MS has passed.",
      s.counters.inDoubt(),
    ),
    ...journalFamilies(s),
  ];
}

/** The write-ahead journal's (MYSQL_URL only; none without one). */
function journalFamilies(s: SharedStore): Family[] {
  const j = s.journaled?.stats();
  if (!j) return [];
  return [
    {
      name: "buzzcast_journal_syncs_total",
      help: "fdatasyncs of the journal: one per tick with buzzes, one more with counted once claims, one per record batch.",
      kind: "counter",
      samples: [{ value: j.syncs }],
    },
    {
      name: "buzzcast_journal_sync_seconds_total",
      help: "Time spent in journal fdatasyncs.",
      kind: "counter",
      samples: [{ value: j.syncSeconds }],
    },
    {
      name: "buzzcast_journal_sync_seconds_max",
      help: "Longest journal fdatasync since start.",
      kind: "gauge",
      samples: [{ value: j.maxSyncSeconds }],
    },
    { name: "buzzcast_journal_bytes_total", help: "Bytes appended to the journal.", kind: "counter", samples: [{ value: j.bytes }] },
    {
      name: "buzzcast_journal_compactions_total",
      help: "Journal files rewritten down to what the record has not committed.",
      kind: "counter",
      samples: [{ value: j.compactions }],
    },
    {
      name: "buzzcast_journal_uncommitted_buzzes",
      help: "Journaled buzzes no committed record batch holds yet (what a restart would replay).",
      kind: "gauge",
      samples: [{ value: j.uncommitted }],
    },
  ];
}
