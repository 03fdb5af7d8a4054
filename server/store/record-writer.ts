/**
 * Writes this node's counts (and, with an audit log, who cast them) to the durable record in
 * batches, once per interval.
 *
 * Guarantees:
 *  - A batch carries, per key, what was cached (and is not in doubt) but not yet batched (never
 *    more: see counter-state),
 *    and with an audit log exactly that many buzzes' audit entries, in the same transaction.
 *  - Batches are numbered per node, continuing after the last seq the record holds for this node.
 *  - A failed batch (error or timeout: it may or may not have committed) is retried unchanged, with
 *    the same seq, before any newer batch is formed; the record ignores a seq it already applied,
 *    so a retry never double counts, and it reports the same claim decisions.
 *  - Record-decided `once` claims (claim-decider.ts) ride in the batch; when it commits, each
 *    accepted one (the record reserved its viewer, counting nothing) arrives like a cache-decided
 *    one: the next flush adds it to the live total, and a later batch persists it with its `once`
 *    audit row, only once it is cached. A refused one is a duplicate. So what the record counts was
 *    always given to the live counter first, for these buzzes too (the reconciliation at a close
 *    relies on it: record > live means memcached lost buzzes, never that some are still coming).
 *  - With a journal: an accepted record-decided claim is journaled (synchronously, in the turn it
 *    joins its counter's audit queue) before its outcome can be acknowledged; a batch's intent (its
 *    rows) is durable in the journal before the batch is sent, and the journal hears of every
 *    commit, so a restart replays exactly what no committed batch took (journal-replay.ts).
 *    Without one, a crash loses what was not committed: at most one interval plus one tick of this
 *    node's buzzes (plus whatever accumulated while the record was unreachable).
 */
import type { AuditEntry, CountBatch, CountRow, Record } from "../record/record.ts";
import type { Logger } from "../ops/logger.ts";
import type { EpochClaim } from "./claim-decider.ts";
import type { ClaimOutcome } from "./store.ts";
import type { QueuedAudit } from "./audit-queue.ts";
import type { CounterState, CounterTable } from "./counter-state.ts";

interface InFlight {
  batch: CountBatch;
  /** The counters and how much each batch adds to `persisted` when it commits. */
  marks: Array<[CounterState, number]>;
  claims: EpochClaim[];
}

export interface RecordWriterStats {
  batches: number;
  rows: number;
  auditRows: number;
  claimsAccepted: number;
  claimsRefused: number;
  errors: number;
  lastError: string | null;
}

/** The journal's part in batches (journal.ts): intents before sending, commits after. */
export interface BatchJournal {
  intent(seq: number, rows: readonly CountRow[]): Promise<void>;
  committed(seq: number, rows: readonly CountRow[]): void;
  /** Record-decided claims just accepted, queued for a later batch: durable before this returns. */
  accepted(entries: readonly QueuedAudit[]): void;
}

/** Where record-decided claims come from and where their decisions go (SharedStore). */
export interface ClaimHooks {
  take(): EpochClaim[];
  /** An accepted claim's counter (created if need be; created retired if its epoch retired meanwhile). */
  counter(e: EpochClaim): CounterState;
  /** The record decided this claim (called once per claim, after an accepted one arrived at its counter). */
  decided(e: EpochClaim, outcome: ClaimOutcome): void;
}

export class RecordWriter {
  private seq = 0;
  private pending: InFlight | null = null;
  /** A batch formed and not yet `pending` (its intent is being journaled). */
  private forming: InFlight | null = null;
  private running: Promise<void> | null = null;
  /** Seeds in progress: no batch forms while any holds (see whileSettled). */
  private holds = 0;
  readonly stats: RecordWriterStats = {
    batches: 0,
    rows: 0,
    auditRows: 0,
    claimsAccepted: 0,
    claimsRefused: 0,
    errors: 0,
    lastError: null,
  };
  healthy = true;

  constructor(
    private readonly record: Record,
    private readonly node: string,
    private readonly counters: CounterTable,
    private readonly log: Logger,
    private readonly audit = false,
    private readonly claims: ClaimHooks | null = null,
    private readonly journal: BatchJournal | null = null,
  ) {}

  /** Continue numbering after the last batch the record holds for this node. */
  async init(): Promise<void> {
    this.seq = await this.record.lastBatchSeq(this.node);
  }

  /**
   * Write one batch (the retried one, or a new one of everything cached and not yet batched).
   * `includeUncached` (shutdown only) also takes buzzes the global cache never got.
   * Concurrent calls share the same run. Never rejects: failures are kept for the next call.
   */
  writeOnce(includeUncached = false): Promise<void> {
    if (this.holds > 0) return Promise.resolve(); // a seed is reading `persisted`: the next interval writes
    this.running ??= this.run(includeUncached).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Resolves true once no batch is in flight or unresolved, so `persisted` is exactly what the
   * record holds for this node (and stays so until the next writeOnce). Resolves false if a failed
   * batch is still unresolved after one more try (the record is unreachable).
   */
  async settle(): Promise<boolean> {
    await this.idle();
    if (this.pending) {
      await this.writeOnce();
      await this.idle();
    }
    return this.pending === null;
  }

  /**
   * Runs `fn` once no batch is in flight or unresolved, and forms no new batch until `fn` is done:
   * all through `fn`, `persisted` is exactly what the record holds for this node. Without the
   * hold, a batch committed while a seed awaits memcached would be both in the record another node
   * seeds from and in this node's "unpersisted" share added on top (an over-count the soak found).
   * Resolves `{ ran: false }` without running `fn` when a failed batch stays unresolved.
   */
  async whileSettled<T>(fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (!(await this.settle())) return { ran: false };
    this.holds++;
    try {
      await this.idle(); // a batch formed between settle() and the hold
      if (this.pending !== null) return { ran: false };
      return { ran: true, value: await fn() };
    } finally {
      this.holds--;
    }
  }

  /** Whether a batch formed and not yet committed carries a record-decided claim of this epoch. */
  carriesClaimsOf(show: string, epoch: string): boolean {
    for (const b of [this.forming, this.pending]) if (b?.claims.some((e) => e.show === show && e.epoch === epoch)) return true;
    return false;
  }

  /** Record-decided claims in the batch in flight or waiting for a retry. */
  get claimsInFlight(): number {
    return this.pending?.claims.length ?? 0;
  }

  /** Resolves once no write is running (including one started while waiting). */
  private async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async run(includeUncached: boolean): Promise<void> {
    if (!this.pending) {
      const formed = this.form(includeUncached);
      this.forming = formed;
      try {
        if (formed && this.journal) await this.journal.intent(formed.batch.batchSeq, formed.batch.rows);
      } finally {
        this.forming = null;
      }
      this.pending = formed;
    }
    const p = this.pending;
    if (!p) {
      try {
        await this.record.ping();
        this.healthy = true;
      } catch (err) {
        this.fail(err);
      }
      return;
    }
    try {
      const outcome = await this.record.persistCounts(p.batch);
      this.journal?.committed(p.batch.batchSeq, p.batch.rows);
      for (const [c, n] of p.marks) this.counters.persistedMore(c, n);
      this.decide(p.claims, new Set(outcome.refused));
      this.pending = null;
      this.healthy = true;
      this.stats.batches++;
      this.stats.rows += p.batch.rows.length;
      this.stats.auditRows += (p.batch.once?.length ?? 0) + (p.batch.interval?.length ?? 0);
    } catch (err) {
      this.fail(err);
    }
  }

  private decide(claims: readonly EpochClaim[], refused: ReadonlySet<number>): void {
    const accepted: QueuedAudit[] = [];
    claims.forEach((e, i) => {
      if (refused.has(i)) {
        this.claims?.decided(e, "duplicate");
        this.stats.claimsRefused++;
        return;
      }
      const c = this.claims?.counter(e);
      if (c) {
        const q = this.counters.countOnce(c, e.viewer, e.claim.atMs, this.audit);
        if (q) accepted.push(q);
      }
      this.claims?.decided(e, "counted");
      this.stats.claimsAccepted++;
    });
    // Same turn as the queue pushes (the journal's order per key is the queues'), and before any
    // flush can return the decisions made above (so before their acks).
    if (accepted.length > 0) this.journal?.accepted(accepted);
  }

  private fail(err: unknown): void {
    this.stats.errors++;
    const msg = err instanceof Error ? err.message : String(err);
    if (this.healthy) this.log.error("record unreachable; deltas retained in memory", { err });
    this.stats.lastError = msg;
    this.healthy = false;
  }

  private form(includeUncached: boolean): InFlight | null {
    const rows: CountRow[] = [];
    const marks: Array<[CounterState, number]> = [];
    const once: AuditEntry[] = [];
    const interval = new Map<string, AuditEntry>();
    for (const c of this.counters.all()) {
      // Never what is in doubt (a timed-out write that may still land), except at shutdown.
      const upTo = includeUncached ? c.arrived : this.counters.persistable(c);
      if (upTo > c.batched) {
        const delta = upTo - c.batched;
        rows.push({ show: c.show, epoch: c.epoch, act: c.act, delta });
        marks.push([c, delta]);
        this.counters.batchedUpTo(c, upTo);
        if (this.audit) batchAudit(c, this.counters.takeAudit(c, delta), once, interval);
      }
    }
    const claims = this.claims?.take() ?? [];
    if (rows.length === 0 && claims.length === 0) return null;
    rows.sort((a, b) => cmp(a.show, b.show) || cmp(a.epoch, b.epoch) || cmp(a.act, b.act));
    const batch: CountBatch = { node: this.node, batchSeq: ++this.seq, rows };
    if (this.audit) {
      batch.once = once;
      batch.interval = [...interval.values()];
    }
    if (claims.length > 0) {
      batch.claims = claims.map((e) => ({
        show: e.show,
        epoch: e.epoch,
        act: e.claim.act,
        viewer: e.viewer,
        atMs: e.claim.atMs,
        count: 1,
      }));
    }
    return { batch, marks, claims };
  }
}

/**
 * Put a batch's share of a counter's audit entries (CounterTable.takeAudit) into the batch: `once`
 * entries one each, `unlimited` ones merged per viewer (one row per viewer, act and batch). A queue
 * that was short (which the store never lets happen) is filled with viewer "?", so the record's sums
 * still match and the gap is visible in the log.
 */
function batchAudit(
  c: CounterState,
  share: { taken: readonly QueuedAudit[]; short: number },
  once: AuditEntry[],
  interval: Map<string, AuditEntry>,
): void {
  for (const q of share.taken) {
    const e = { show: q.show, epoch: q.epoch, act: q.act, viewer: q.viewer, atMs: q.atMs, count: q.count };
    if (q.once) once.push(e);
    else addInterval(interval, e);
  }
  if (share.short > 0)
    addInterval(interval, { show: c.show, epoch: c.epoch, act: c.act, viewer: "?", atMs: Date.now(), count: share.short });
}

function addInterval(m: Map<string, AuditEntry>, e: AuditEntry): void {
  const k = JSON.stringify([e.show, e.epoch, e.act, e.viewer]);
  const prev = m.get(k);
  if (prev) {
    prev.count += e.count;
    prev.atMs = Math.min(prev.atMs, e.atMs);
  } else m.set(k, e);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
