/**
 * The shared Store: live totals through a global counter per (show, epoch, act) in memcached,
 * reached through the dual cache, and the durable record in MySQL.
 *
 * Per tick, in two phases (docs/architecture.md, "The tick: aligned, in two phases"): phase 1
 * (flush) sends one `incr` per act with a non-zero local delta, plus a read of the live counters
 * phase 2 will not read; phase 2 (readTotals, shared-read.ts) reads every live counter straight
 * from memcached once every unit has flushed. Nothing touches memcached per buzz.
 *
 * Faults:
 *  - memcached unreachable (connection refused): deltas stay in `arrived - cached` and are applied
 *    when it answers; totals shown are last known + own pending; readiness turns degraded.
 *  - memcached stalled (increments time out): see flush(); taken as applied, never re-sent.
 *  - a key missing (flush, restart, eviction, or a new epoch): the node re-seeds it with `add` from
 *    the record plus its own unpersisted buzzes, after a generation key labelling that creation
 *    (reseed.ts). If another node seeded first, this node adds its own unpersisted buzzes to that
 *    seed. A node whose phase-2 read finds another label re-adds what the lost key took of its
 *    cached, unbatched buzzes with its next `incr` (counter-state.ts); what it had batched may be
 *    in the record the seed read, so it is left to the reconciliation at voting close.
 *  - record unreachable: batches retry (record-writer.ts); live totals keep flowing.
 *
 * `once` claims (decidesClaims): decided fleet-wide by claim-decider.ts, in the same flush (one
 * pipelined `add` per claim, plus two sentinel reads per tick), or by the record when the cache lost
 * them; a claim counted is added to its counter before the tick's `incr`, so the totals this flush
 * returns include it. With a durable record, every counted buzz also gets an audit row
 * (record-writer.ts), in the batch that persists its count.
 *
 * With a journal (journal.ts; MySQL only): every counted buzz is journaled before it is applied to
 * memcached and before its ack leaves (the tick loop calls `journal` before it hands the deltas to
 * `flush`, and acks only once that flush resolved; a claim counted here is journaled before this
 * flush's increments, and its ack goes at the next tick).
 * A journal that cannot be written stops the node (`fatal`) before anything unjournaled is
 * acknowledged or applied (shared-journal.ts). Options and derived waits: shared-store-options.ts.
 */
import { randomBytes } from "node:crypto";
import { CacheError, type Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import type { Record } from "../record/record.ts";
import { ClaimDecider, committedSoFar } from "./claim-decider.ts";
import type { QueuedAudit } from "./audit-queue.ts";
import { CounterTable, type CounterState } from "./counter-state.ts";
import type { Journal } from "./journal.ts";
import { SharedJournal } from "./shared-journal.ts";
import { CLAIM_TTL_SEC, DOUBT_MS, sharedTimings, type SharedStoreOptions, type SharedTimings } from "./shared-store-options.ts";
import { RecordWriter } from "./record-writer.ts";
import { CloseReconciler } from "./close-reconciler.ts";
import { seedCounter } from "./reseed.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { EpochLifecycle } from "../shows/epoch-lifecycle.ts";
import { sharedStoreFamilies } from "./shared-store-metrics.ts";
import { SharedAudience } from "./shared-audience.ts";
import { SharedRead } from "./shared-read.ts";
import { SYSTEM_STORE_CLOCK, type StoreClock } from "./store-clock.ts";
import type { ClaimDecision, EpochTotals, FlushResult, ShowFlush, Store, StoreHealth, StoreStats, TotalsWant } from "./store.ts";

export class SharedStore implements Store {
  /** Retires show epochs in the counters, the claim decider and the writer's claims (the flush marked `retired`). */
  readonly epochs = new EpochLifecycle();
  readonly counters: CounterTable;
  readonly writer: RecordWriter;
  readonly claims: ClaimDecider;
  readonly decidesClaims = true;
  readonly auditsViewers: boolean;
  readonly nodeId: string;
  /** Qualifies per-connection viewer keys in claims and audit rows (unique per process lifetime). */
  readonly processKey: string;
  private cacheError: string | null = null;
  private timer: unknown = null;
  private readonly clock: StoreClock;
  private closed = false;
  private walked = 0;
  /** The journal's part in flushes and batches (no-ops without one); opened by start(). */
  private readonly journaling: SharedJournal;
  /**
   * Claims decided since the last flush returned (by the cache in a flush, or by the record between
   * flushes): the next flush that returns hands them over, once. Only flush empties it.
   */
  private decided: ClaimDecision[] = [];
  /** Exported as metrics (see metrics()). */
  readonly counts = {
    seeds: 0,
    seedConflicts: 0,
    seedDeferred: 0,
    cacheErrors: 0,
    assumedApplied: 0,
    raised: 0,
    reconcilePasses: 0,
  };

  readonly reconciler: CloseReconciler;
  readonly timing: SharedTimings;
  readonly phase2: SharedRead;
  readonly audience: SharedAudience;

  /** `cache` is the dual cache; `global` the cache behind it (reconciliation reads must be fresh). */
  constructor(
    readonly cache: Cache,
    readonly global: Cache,
    readonly record: Record,
    private readonly opts: SharedStoreOptions,
    private readonly log: Logger,
  ) {
    const prefix = opts.keyPrefix ?? "bc";
    this.nodeId = opts.nodeId;
    // Each counter's generation key sits on the counter's memcached server, lost with it.
    this.counters = this.epochs.register(new CounterTable(prefix, (key, base) => global.beside?.(key, base) ?? base));
    this.auditsViewers = opts.durable;
    this.clock = opts.clock ?? SYSTEM_STORE_CLOCK;
    const derived = sharedTimings(opts.tickMs, opts.persistIntervalMs);
    this.timing = { ...derived, reconcileDelayMs: opts.reconcileDelayMs ?? derived.reconcileDelayMs };
    const { reconcileDelayMs } = this.timing;
    this.processKey = `${opts.nodeId}.${randomBytes(4).toString("hex")}`;
    this.journaling = new SharedJournal(log, opts.fatal);
    this.reconciler = new CloseReconciler(this, { prefix, lockToken: this.processKey, delayMs: reconcileDelayMs, clock: this.clock }, log);
    this.audience = new SharedAudience(global, prefix, log);
    this.phase2 = new SharedRead(global, this.counters, (err) => this.noteCache(err));
    // Record mode waits until every other cache decider of the epoch committed its decisions and left.
    this.claims = this.epochs.register(
      new ClaimDecider(
        global,
        record,
        {
          nodeId: opts.nodeId,
          prefix,
          graceMs: this.timing.claimGraceMs,
          checkEveryMs: reconcileDelayMs,
          ttlSec: CLAIM_TTL_SEC,
          processKey: this.processKey,
        },
        log,
        (show, epoch) => committedSoFar(this.counters, show, epoch),
      ),
    );
    this.writer = new RecordWriter(
      record,
      opts.nodeId,
      this.counters,
      log,
      opts.durable,
      {
        take: () => this.claims.takeForRecord(),
        counter: (e) => {
          const c = this.counters.get(e.show, e.epoch, e.claim.act);
          if (this.epochs.isRetired(e.show, e.epoch)) this.counters.retire(e.show, e.epoch);
          return c;
        },
        decided: (e, outcome) => this.decided.push({ claim: e.claim, outcome }),
      },
      this.journaling,
    );
    // The writer keeps nothing per epoch but the record-decided claims of a batch until it commits.
    this.epochs.register({ retire: () => {}, holds: (show, epoch) => this.writer.carriesClaimsOf(show, epoch) });
  }

  async start(): Promise<void> {
    // The previous life's journal is replayed into the record before the writer numbers its batches.
    await this.journaling.open(this.opts.journal);
    await this.writer.init();
    // Everything a previous life of this node decided in the cache is committed now (replayed).
    await this.record.leaveClaimCache(this.opts.nodeId, null, null);
    // Unreferenced: the server's sockets keep the process alive, not this.
    const every = (): void => {
      this.timer = this.clock.setTimer(() => {
        void this.writer.writeOnce();
        every();
      }, this.opts.persistIntervalMs);
    };
    every();
  }

  /** Until when a write timing out now stays in doubt. */
  doubtUntil(): number {
    return this.now() + (this.opts.doubtMs ?? DOUBT_MS);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : this.clock.now();
  }

  /** The journal, when the options gave one (metrics read its stats). */
  get journaled(): Journal | null {
    return this.journaling.journal;
  }

  /** Journal a tick's deltas, synchronously, right before their acks go out (then `flush(batch)`). */
  journal(batch: readonly ShowFlush[]): void {
    if (this.journaling.journal) this.journaling.tickDrained(batch, this.now());
  }

  async flush(batch: readonly ShowFlush[]): Promise<FlushResult> {
    // A batch the tick loop did not journal (a direct caller) is journaled now, before anything.
    const now = this.journaling.flushBegins(batch, () => this.now());
    this.counters.settleDoubts(now);
    for (const f of batch) {
      for (const d of f.deltas) {
        const c = this.counters.get(f.show, f.epoch, d.act);
        this.counters.arrive(c, d.delta);
        if (this.auditsViewers) this.counters.queueViewers(c, d.viewers, d.delta, now);
      }
      if (f.claims) this.claims.take(f.show, f.epoch, f.claims);
      if (f.retired === true) this.epochs.retire(f.show, f.epoch);
    }
    const counted: QueuedAudit[] = [];
    for (const d of await this.claims.decide(now)) {
      this.decided.push({ claim: d.claim, outcome: d.outcome });
      if (d.outcome !== "counted") continue;
      const c = this.counters.get(d.show, d.epoch, d.claim.act);
      const q = this.counters.countOnce(c, d.viewer, d.claim.atMs, this.auditsViewers);
      if (q) counted.push(q);
    }
    // Written in the turn of the queue pushes above (same order per key), durable before anything
    // of this flush reaches memcached and before the claims' acks (they wait for this flush).
    await this.journaling.countedClaims(counted);
    const reads: CounterState[] = [];
    for (const f of batch) {
      if (f.retired === true) continue; // no totals wanted back
      for (const act of f.acts) {
        const c = this.counters.get(f.show, f.epoch, act);
        // Two-phase ticks read every live counter in phase 2; phase 1 reads only the ones not
        // read there yet (new, or found missing: the read below notices and seeds them).
        if (c.arrived === c.cached && !this.phase2.fresh.has(c)) reads.push(c);
      }
    }
    const incrs = this.counters.needingCache();
    this.walked = incrs.length + reads.length;

    // Each missing counter is seeded once per flush: a counter with a re-add due and nothing new
    // pending is both incremented and read, and both may find it missing. A second seed would find
    // the key this node's first seed just created, take it for another node's seed (which cannot
    // hold this node's unpersisted buzzes) and add them again: counted twice.
    const missing = new Set<CounterState>();
    let failed: unknown = null;
    await Promise.all(
      incrs.map(async (c) => {
        const amount = c.arrived - c.cached;
        // Buzzes a lost incarnation of the key took (counter-state.ts) go with them, once.
        const again = c.lost;
        const shown = c.lastKnown + amount;
        try {
          const v = await this.cache.incr(c.key, amount + again);
          if (v === null) missing.add(c);
          else {
            this.counters.applied(c, amount, v);
            this.counters.readded(c, again);
            // Moving buzzes from pending to cached never lowers the total shown, even when the
            // key is short (re-created without this node's earlier buzzes: re-added just now).
            this.counters.saw(c, shown);
          }
        } catch (err) {
          failed = err;
          // A timed-out increment was sent and may still be applied (a stalled memcached applies what
          // sits in its socket buffer when it wakes up). Re-sending it could count it twice, so it is
          // taken as applied, and held in doubt: not persisted until it can no longer land, so a
          // close's reconciliation (which raises live to the record) cannot count it a second time
          // when it lands late. At worst the live total is short until that reconciliation.
          // The total shown keeps them: applied, the counter holds at least lastKnown + amount (it
          // never shrinks but by a loss), so moving them from pending to lastKnown never lowers it.
          if (err instanceof CacheError && err.code === "timeout") {
            this.counters.assumeApplied(c, amount, now + (this.opts.doubtMs ?? DOUBT_MS));
            this.counters.assumeReadded(c, again, now + (this.opts.doubtMs ?? DOUBT_MS));
            this.counters.saw(c, c.lastKnown + amount);
            this.counts.assumedApplied += amount;
          }
        }
      }),
    );
    if (reads.length > 0 && failed === null) {
      try {
        const got = await this.cache.getMany(reads.map((c) => c.key));
        for (const c of reads) {
          const raw = got.get(c.key);
          if (raw === undefined) missing.add(c);
          else this.counters.saw(c, Number(raw));
        }
      } catch (err) {
        failed = err;
      }
    }
    for (const c of missing) {
      if (failed !== null) break;
      try {
        await seedCounter(this, c);
      } catch (err) {
        failed = err;
      }
    }
    this.noteCache(failed);

    const out: EpochTotals = new Map();
    for (const f of batch) {
      if (f.retired === true) continue;
      const totals = new Map<string, number>();
      for (const act of f.acts) {
        const c = this.counters.get(f.show, f.epoch, act);
        totals.set(act, c.lastKnown + (c.arrived - c.cached));
      }
      out.set(epochKey(f.show, f.epoch), totals);
    }
    this.counters.prune();
    this.epochs.sweep();
    // Every claim counted so far has arrived at its counter, so `out` includes it.
    const decisions = this.decided;
    this.decided = [];
    return { totals: out, decisions };
  }

  /** Phase 2: every live counter, fresh from memcached (shared-read.ts). */
  readTotals(wants: readonly TotalsWant[]): Promise<EpochTotals> {
    return this.phase2.totals(wants);
  }

  /** Viewers per show over every node, summed in memcached once per second (shared-audience.ts). */
  watching(local: ReadonlyMap<string, number>, nowMs: number): ReadonlyMap<string, number> {
    return this.audience.watching(local, nowMs);
  }

  private noteCache(err: unknown): void {
    if (err === null) {
      if (this.cacheError !== null) this.log.info("global cache reachable again");
      this.cacheError = null;
      return;
    }
    this.counts.cacheErrors++;
    const msg = err instanceof Error ? err.message : JSON.stringify(err);
    if (this.cacheError === null) this.log.error("global cache unreachable; deltas retained in memory", { err });
    this.cacheError = msg;
  }

  /** Live totals are raised to the record after the close (close-reconciler.ts). */
  votingClosed(show: string, epoch: string, acts: readonly string[], version: number): void {
    this.reconciler.closed({ show, epoch, acts, version });
  }

  /** Voting reopened: the earlier closes' reconciliation passes end for these acts. */
  votingOpened(show: string, epoch: string, acts: readonly string[], version: number): void {
    this.reconciler.opened({ show, epoch, acts, version });
  }

  /** The first pass, if this node wins the close's lock: how much it added (null: another node won). */
  reconcile(show: string, epoch: string, acts: readonly string[], version: number): Promise<number | null> {
    return this.reconciler.firstPass({ show, epoch, acts, version });
  }

  async durableTotals(show: string, epoch: string): Promise<Map<string, number> | null> {
    return this.opts.durable ? (this.opts.publicReads ?? this.record).countTotals(show, epoch) : null;
  }

  stats(): StoreStats {
    return { entries: this.counters.size, walked: this.walked, retained: this.counters.unpersisted() };
  }

  health(): StoreHealth {
    const cacheOk = this.cacheError === null;
    const recordOk = this.writer.healthy;
    const claimsOk = this.claims.error === null;
    return {
      ready: cacheOk && recordOk && claimsOk && !this.closed,
      checks: {
        memcached: cacheOk ? "ok" : `unreachable: ${this.cacheError}`,
        mysql: recordOk ? "ok" : `unreachable: ${this.writer.stats.lastError ?? "error"}`,
        claims: claimsOk ? "ok" : `held: ${this.claims.error ?? "error"}`,
      },
    };
  }

  metrics(): Family[] {
    return sharedStoreFamilies(this);
  }

  /** Shutdown: apply what the cache can take, then commit everything (cached or not) to the record. */
  async close(): Promise<void> {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.reconciler.stop();
    this.closed = true;
    await this.writer.settle();
    // Retry until everything is committed; main's drain timeout bounds how long.
    for (let attempt = 0; this.counters.unpersisted() > 0; attempt++) {
      await this.writer.writeOnce(true);
      if (this.counters.unpersisted() > 0 && attempt > 0) await new Promise((r) => setTimeout(r, 250));
    }
    this.journaling.close();
    await this.record.leaveClaimCache(this.opts.nodeId, null, null).catch((err: unknown) => {
      this.log.warn("once claims: cache-decider rows not left; they are left at this node id's next start", { err });
    });
    await this.cache.close();
    await this.opts.lease?.release(); // after the last commit: a successor with this node id may start now
    await this.record.close();
  }
}
