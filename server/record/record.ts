/**
 * The durable record (MySQL in production, memory in the embedded default). It is the source of
 * truth for shows, stage history and counts; caches may lose anything, the record may not.
 *
 * Counts are stored as one row per (show, epoch, act, node): no row is hot, a show's total is the
 * sum over nodes. Each node writes only its own rows.
 */
import type { ScheduledStage, ShowInfo, Stage } from "../../shared/protocol.ts";

export interface CountRow {
  show: string;
  epoch: string;
  act: string;
  delta: number;
}

/**
 * One node's batch of count deltas. `batchSeq` increases by one per batch per node. Applying a
 * batch is atomic and idempotent: a batch whose seq is <= the node's last applied seq changes
 * nothing, so a batch retried after a timeout never double counts. A node must not send batch
 * n+1 before batch n has been applied.
 */
export interface CountBatch {
  node: string;
  batchSeq: number;
  rows: readonly CountRow[];
  /**
   * Audit rows of `once` buzzes this batch counts (already decided: by the cache's claim keys, or
   * in process). Each is also one unit in `rows`. When `once` or `interval` is given, per
   * (show, epoch, act) the audit counts must add up to the row's delta, else the batch is refused.
   */
  once?: readonly AuditEntry[];
  /** `unlimited`: per viewer and act, the buzzes this batch counts (`count` >= 1). */
  interval?: readonly AuditEntry[];
  /**
   * `once` claims the record decides (the cache could not): each one not yet recorded for its
   * (show, epoch, act, viewer) becomes an audit row with count 0 (sent as 1, stored as 0: a
   * reservation that counts nothing); one already recorded is refused (see PersistOutcome). The node
   * then counts an accepted claim like any other `once` buzz: in live totals first, then as a
   * `once` entry of a later batch, which raises the reserved row's count to 1 together with the
   * count row. So the record never holds a buzz the live counter has not been given (what the
   * reconciliation after a close relies on), and per act audit sum == count sum at every commit.
   */
  claims?: readonly AuditEntry[];
}

/** One buzz (or, for `interval`, `count` buzzes) of a viewer for an act, counted on the batch's node. */
export interface AuditEntry {
  show: string;
  epoch: string;
  act: string;
  /** The viewer as counting knows it (`v:<id>`, or a per-connection key `c<n>`): 1-160 characters. */
  viewer: string;
  /** When it was counted (ms since the Unix epoch, the node's clock). */
  atMs: number;
  /** 1 for `once` rows and claims (a claim's row is stored with 0: see CountBatch.claims). */
  count: number;
}

/**
 * What persistCounts decided about `batch.claims`. Deterministic across retries: a retried batch
 * that had committed reports the same decisions (a claim is accepted iff its audit row names this
 * node and batch).
 */
export interface PersistOutcome {
  /** Indices into `batch.claims` that were refused: the viewer was already recorded for that act. */
  refused: number[];
}

/** One audit row: `once` -> one row per counted buzz (count = 1); `unlimited` -> one row per viewer, act and persist interval with its count. */
export interface AuditRow {
  act: string;
  viewer: string;
  node: string;
  atMs: number;
  count: number;
}

/** Where auditPage stopped; pass it back for the next page. Opaque (a string, safe in a URL once encoded). */
export type AuditCursor = string & { readonly __auditCursor: true };

/**
 * The total a node put on air for an act after its voting closed: the act's value in the last
 * totals frame the node published (what every one of its screens received), and that frame's instant.
 */
export interface OnAirTotal {
  show: string;
  epoch: string;
  act: string;
  node: string;
  total: number;
  /** The frame's aligned tick instant (ms since the Unix epoch). */
  atMs: number;
  /** When the node saw the act's voting close (ms since the Unix epoch, its clock). */
  closedAtMs: number;
}

/** The stored definition and live state of a show. */
export interface ShowRecord {
  show: ShowInfo;
  stage: Stage;
  epoch: string;
  /** Increases with every change to the show or its stage; newer versions win everywhere. */
  version: number;
  /**
   * A stage change scheduled for `next.at` (ms since 1970); `stage` is the stage until then. Every
   * node applies it at that instant by its own clock; after it, the record is read as if `stage`
   * were `next` (shows/stage-schedule.ts `stateAt`). Absent or null: nothing scheduled.
   */
  next?: ScheduledStage | null;
}

/** What acquireNodeLease decided: granted, or held by `holder` for `expiresInMs` more (the record's clock). */
export type LeaseVerdict = { ok: true } | { ok: false; holder: string; expiresInMs: number };

/** What saveShow decided: stored, or refused with the show as stored (null: no such show). */
export type SaveShowResult = { ok: true } | { ok: false; current: ShowRecord | null };

/** One row of a show's stage history: the stage as it became at `version`. */
export interface StageChange {
  epoch: string;
  act: string | null;
  open: boolean;
  version: number;
  /**
   * When the stage became so (ms since the Unix epoch): the record's clock for an immediate change,
   * the scheduled instant for a scheduled one. A scheduled row took effect unless a later row (higher
   * version) was stored before its instant (version < its `at`): that one replaced it.
   */
  at: number;
}

export interface Record {
  /** Create or upgrade the schema. Idempotent; safe when several nodes start at once. */
  migrate(): Promise<void>;
  /**
   * Apply a batch atomically and idempotently (see CountBatch). Retries deadlocks itself. Rows
   * with the same (show, epoch, act) are summed; deltas must be non-negative safe integers and
   * batchSeq a positive safe integer, else it rejects with RecordError "query" and applies nothing.
   */
  persistCounts(batch: CountBatch): Promise<PersistOutcome>;
  /**
   * Take or renew the lease of node id `node` for process instance `holder`, for `ttlMs` on the
   * record's clock: granted when nobody holds it, `holder` already does, or the holder's lease has
   * expired. Once granted through this object, every persistCounts of `node` through it commits only
   * while the lease still names `holder` (checked in the batch's transaction; otherwise RecordError
   * "lease" and nothing applied), so two processes never share the node's batch sequence space.
   */
  acquireNodeLease(node: string, holder: string, ttlMs: number): Promise<LeaseVerdict>;
  /** Give the lease up (after the node's last batch; later batches through this object are refused): the next process with this node id may take it at once. */
  releaseNodeLease(node: string, holder: string): Promise<void>;
  /** Highest batch seq applied for this node (0 when none). A restarted node continues after it. */
  lastBatchSeq(node: string): Promise<number>;
  /** act -> sum over nodes of the recorded counts for that show and epoch. */
  countTotals(show: string, epoch: string): Promise<Map<string, number>>;
  /** act -> sum of `count` over the audit rows of that show and epoch (equals countTotals once audited). */
  auditTotals(show: string, epoch: string): Promise<Map<string, number>>;
  /**
   * Audit rows in (act, atMs, viewer, node) order, at most `limit` (1-10,000) after `after` (null:
   * from the start); `next` is null when no row follows. Keyset pagination: each page is one index
   * range read, whatever the depth, so an export streams pages of any size.
   */
  auditPage(show: string, epoch: string, after: AuditCursor | null, limit: number): Promise<{ rows: AuditRow[]; next: AuditCursor | null }>;
  /**
   * Counted buzzes of one act per interval: [bucket start (ms since the Unix epoch, a multiple of
   * intervalMs), count], ascending, only non-empty buckets; the counts add up to the act's audit total.
   */
  timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>>;
  /**
   * Mark that `once` claims of this show epoch are decided in the cache (its sentinel key was
   * created). "created" for the first caller, "exists" for every later one: a later caller that
   * finds the sentinel missing knows the cache lost its claims.
   */
  markClaimEpoch(show: string, epoch: string, node: string): Promise<"created" | "exists">;
  /**
   * `node` is about to decide `once` claims of this show epoch in the cache: atomically, registers
   * it as a cache decider of the epoch (until leaveClaimCache) and answers true, unless the epoch
   * is in record mode (claimRecordMode committed first): then false, and the node must decide none
   * of its claims in the cache, for good. Idempotent: a registered node calls it again to learn
   * whether the epoch went to record mode since.
   */
  joinClaimCache(show: string, epoch: string, node: string): Promise<boolean>;
  /**
   * Put the show epoch in record mode for good (no joinClaimCache answers true after this
   * commits) and answer the other nodes still registered as its cache deciders (joined, not
   * left): the record may decide the epoch's claims only once this is empty. Idempotent.
   */
  claimRecordMode(show: string, epoch: string, node: string): Promise<string[]>;
  /**
   * `node` decides no more `once` claims of the show epoch in the cache, and every one it decided
   * there is committed. `show` and `epoch` null: of every epoch (at start, once the journal of the
   * node's previous life is replayed; at shutdown, after the last commit).
   */
  leaveClaimCache(node: string, show: string | null, epoch: string | null): Promise<void>;
  /**
   * Take the reconciliation lock of a voting close (show, epoch, the show version of the close) for
   * the process whose unique token is `token`: true when the lock holds `token` after the call
   * (this call or an earlier one of the same process took it), false when another token holds it.
   * The first token stored wins and is never replaced or removed, so a call whose answer was lost
   * (timed out, yet applied, or applied late) is recognised by its token on the next call, and a
   * call may be repeated after any failure: a close with no lock row is owned by nobody yet.
   */
  lockClose(show: string, epoch: string, version: number, token: string): Promise<boolean>;
  /**
   * Store a show's definition, stage and epoch, atomically. With `base` (a compare-and-swap, what
   * every admin change uses): stored only if the stored version is exactly `base` (null: the show
   * does not exist yet), and `rec.version` must be above `base` (else RecordError "query"). So of
   * several writers that read one version, exactly one stores its successor; each other one gets
   * `{ok: false, current}` and must apply nothing. Without `base`: stored only if `version` is newer
   * than the stored one (an equal or older version changes nothing). Appends to stage history on
   * the first save and whenever the stage (act, open) the show is heading for (`next` if scheduled,
   * else `stage`), its instant, or the epoch changed (normalize.ts `historyRow`).
   */
  saveShow(rec: ShowRecord, base?: number | null): Promise<SaveShowResult>;
  loadShow(id: string): Promise<ShowRecord | null>;
  /** All shows, ordered by id. */
  listShows(): Promise<ShowRecord[]>;
  /** The show's stage history, oldest (lowest version) first; empty for an unknown show. */
  stageHistory(show: string): Promise<StageChange[]>;
  /**
   * Store on-air totals: per (show, epoch, act, node), a row replaces the stored one only if its
   * `atMs` is not older (a late write of an earlier frame never wins). Idempotent.
   */
  recordOnAir(rows: readonly OnAirTotal[]): Promise<void>;
  /** Every node's on-air row of a show epoch, ordered by act, then node. */
  onAirTotals(show: string, epoch: string): Promise<OnAirTotal[]>;
  /**
   * The fleet's secret called `name`: the first caller's `candidate` is stored (random bytes it
   * generated), every caller gets the stored one back, so all nodes share it without configuration.
   */
  fleetSecret(name: string, candidate: Buffer): Promise<Buffer>;
  /** Resolves when the record answers a trivial query (readiness); rejects with a RecordError. */
  ping(): Promise<void>;
  /** Release connections. Afterwards every method rejects with RecordError "unreachable". */
  close(): Promise<void>;
}

/**
 * The record's reads that answer the public (GET /api/shows/:show's durable totals, the timeline).
 * MysqlRecord runs them on a pool of their own: however many public callers wait, counting
 * (persistCounts, claims, reseeds), producers' changes and readiness never wait behind them for a
 * connection. The MySQL server's CPU is still shared: the callers above keep public reads few.
 */
export interface PublicRecordReads {
  countTotals(show: string, epoch: string): Promise<Map<string, number>>;
  timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>>;
}

/** "lease": a batch of a node whose lease (acquireNodeLease) another process holds now; nothing applied. */
export type RecordErrorCode = "unreachable" | "deadlock" | "schema" | "query" | "lease";

export class RecordError extends Error {
  readonly code: RecordErrorCode;
  constructor(code: RecordErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecordError";
    this.code = code;
  }
}
