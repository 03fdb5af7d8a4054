/**
 * The node's write-ahead journal: every buzz the shared store counts is on local disk before its
 * ack leaves the node and before it reaches memcached, so a node killed at any instant and
 * restarted with the same NODE_ID (and DATA_DIR) replays into the record every buzz it
 * acknowledged (journal-replay.ts). The one implementation on disk is file-journal.ts; a store
 * without a journal (embedded, or memcached without MySQL: no durable record to replay into) has
 * none, and what SIGKILL costs there is documented in docs/operations.md.
 *
 * What is journaled is what the record writer persists, in the same order per (show, epoch, act):
 * each counter's audit queue (counter-state.ts) is first-in first-out and every record batch takes
 * a prefix of it, so "batch n committed" says exactly which journaled buzzes the record holds.
 */
import type { CountRow } from "../record/record.ts";
import type { QueuedAudit } from "./audit-queue.ts";

export interface Journal {
  /**
   * Append counted buzzes (per key in the order the store queues them) and make them durable
   * (written and, with fsync on, synced) before returning. Throws JournalError; the caller must
   * then neither acknowledge nor apply them.
   */
  appendSync(entries: readonly QueuedAudit[]): void;
  /** The same, with the sync off the event loop: resolves once durable. Rejects with JournalError. */
  append(entries: readonly QueuedAudit[]): Promise<void>;
  /**
   * Record batch `seq` is about to be sent with these rows (each row's delta: how many of the
   * key's oldest journaled buzzes it takes). Durable before it resolves, so a replay always knows
   * which journaled buzzes a committed seq holds.
   */
  intent(seq: number, rows: readonly CountRow[]): Promise<void>;
  /** Batch `seq` (whose intent was journaled) committed: its buzzes need no replay. */
  committed(seq: number, rows: readonly CountRow[]): void;
  /** Clean shutdown after everything was committed: the journal is left empty. */
  close(): void;
  /** For metrics: syncs, their total seconds, bytes appended, compactions, buzzes not yet committed. */
  stats(): JournalStats;
}

export interface JournalStats {
  syncs: number;
  syncSeconds: number;
  maxSyncSeconds: number;
  bytes: number;
  compactions: number;
  uncommitted: number;
}

export type JournalErrorCode = "io" | "corrupt" | "foreign";

/** A journal that cannot be written or read as it must be. */
export class JournalError extends Error {
  constructor(
    readonly code: JournalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "JournalError";
  }
}
