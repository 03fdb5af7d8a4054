/**
 * The durable record (MySQL in production, memory in the embedded default). It is the source of
 * truth for shows, stage history and counts; caches may lose anything, the record may not.
 *
 * Counts are stored as one row per (show, epoch, act, node): no row is hot, a show's total is the
 * sum over nodes. Each node writes only its own rows.
 */
import type { ShowInfo, Stage } from "../../shared/protocol.ts";

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
}

/** The stored definition and live state of a show. */
export interface ShowRecord {
  show: ShowInfo;
  stage: Stage;
  epoch: string;
  /** Increases with every change to the show or its stage; newer versions win everywhere. */
  version: number;
}

/** One row of a show's stage history: the stage as it became at `version`. */
export interface StageChange {
  epoch: string;
  act: string | null;
  open: boolean;
  version: number;
  /** When the record stored it (ms since the Unix epoch, the record's clock). */
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
  persistCounts(batch: CountBatch): Promise<void>;
  /** Highest batch seq applied for this node (0 when none). A restarted node continues after it. */
  lastBatchSeq(node: string): Promise<number>;
  /** act -> sum over nodes of the recorded counts for that show and epoch. */
  countTotals(show: string, epoch: string): Promise<Map<string, number>>;
  /**
   * Store a show's definition, stage and epoch, atomically, only if `version` is newer than the
   * stored one (an equal or older version changes nothing, so a stale writer never wins). Appends
   * to stage history on the first save and whenever the stage (act, open) or the epoch changed.
   */
  saveShow(rec: ShowRecord): Promise<void>;
  loadShow(id: string): Promise<ShowRecord | null>;
  /** All shows, ordered by id. */
  listShows(): Promise<ShowRecord[]>;
  /** The show's stage history, oldest (lowest version) first; empty for an unknown show. */
  stageHistory(show: string): Promise<StageChange[]>;
  /** Resolves when the record answers a trivial query (readiness); rejects with a RecordError. */
  ping(): Promise<void>;
  /** Release connections. Afterwards every method rejects with RecordError "unreachable". */
  close(): Promise<void>;
}

export type RecordErrorCode = "unreachable" | "deadlock" | "schema" | "query";

export class RecordError extends Error {
  readonly code: RecordErrorCode;
  constructor(code: RecordErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RecordError";
    this.code = code;
  }
}
