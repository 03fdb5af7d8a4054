/**
 * The shared store's use of its write-ahead journal (journal.ts; MySQL only): what is made durable
 * when, around one tick's flush.
 *
 * Guarantees:
 *  - A tick's drained deltas are journaled (`tickDrained`, synchronously) before their acks go out
 *    and before the flush hands them to memcached; a batch the tick loop did not journal (a direct
 *    caller of flush) is journaled when its flush begins, before anything else.
 *  - Claims counted in a flush are journaled (`countedClaims`) before that flush touches memcached
 *    and before their acks (they wait for the flush); record-decided claims accepted by a batch are
 *    journaled (`appendNow`) in the turn they join their counters' audit queues.
 *  - A journal write that fails calls `fatal` (the node stops) and throws: nothing unjournaled is
 *    acknowledged or applied.
 * Without a journal every method is a no-op.
 */
import type { Logger } from "../ops/logger.ts";
import type { CountRow } from "../record/record.ts";
import { deltaEntries, type QueuedAudit } from "./audit-queue.ts";
import type { Journal } from "./journal.ts";
import type { BatchJournal } from "./record-writer.ts";
import type { ShowFlush } from "./store.ts";

/** Exit code of a node (or worker thread) stopped because its journal failed. */
export const EXIT_JOURNAL_FAILED = 75;

export class SharedJournal implements BatchJournal {
  /** Set by open() when the store was given a journal. */
  journal: Journal | null = null;
  /** The batch `tickDrained` made durable and the instant its audit entries carry (flush queues the same). */
  private tick: { batch: readonly ShowFlush[]; now: number } | null = null;

  /** `fatal`: a journal write failed (default: log and exit the process or worker thread). */
  constructor(
    private readonly log: Logger,
    private readonly onFatal?: (err: unknown) => void,
  ) {}

  /** Open the journal (the previous life's is replayed into the record by the opener). */
  async open(opener: (() => Promise<Journal>) | undefined): Promise<void> {
    if (opener) this.journal = await opener();
  }

  /** Journal a tick's deltas, synchronously, right before their acks go out (then `flush(batch)`). */
  tickDrained(batch: readonly ShowFlush[], now: number): void {
    if (!this.journal) return;
    this.appendNow(deltaEntries(batch, now));
    this.tick = { batch, now };
  }

  /**
   * A flush of `batch` begins: journal it now unless the tick loop did; returns the instant its
   * audit entries carry (the journaled one, so journal and audit queues agree).
   */
  flushBegins(batch: readonly ShowFlush[], now: () => number): number {
    if (this.journal && this.tick?.batch !== batch) this.tickDrained(batch, now());
    const at = this.tick?.now ?? now();
    this.tick = null;
    return at;
  }

  /** Claims this flush counted: durable before the flush touches memcached (and before their acks). */
  async countedClaims(entries: readonly QueuedAudit[]): Promise<void> {
    if (!this.journal || entries.length === 0) return;
    try {
      await this.journal.append(entries);
    } catch (err) {
      this.fatal(err);
      throw err;
    }
  }

  /** Append and sync now, in this turn (the journal's order per key is the counters' queues'). */
  appendNow(entries: readonly QueuedAudit[]): void {
    if (!this.journal) return;
    try {
      this.journal.appendSync(entries);
    } catch (err) {
      this.fatal(err);
      throw err;
    }
  }

  intent(seq: number, rows: readonly CountRow[]): Promise<void> {
    return this.journal?.intent(seq, rows).catch((err: unknown) => this.fatal(err)) ?? Promise.resolve();
  }

  committed(seq: number, rows: readonly CountRow[]): void {
    this.journal?.committed(seq, rows);
  }

  accepted(entries: readonly QueuedAudit[]): void {
    this.appendNow(entries);
  }

  close(): void {
    this.journal?.close();
  }

  private fatal(err: unknown): void {
    if (this.onFatal) return this.onFatal(err);
    this.log.error("journal failed: stopping before anything unjournaled is acknowledged", { err });
    process.exit(EXIT_JOURNAL_FAILED);
  }
}
