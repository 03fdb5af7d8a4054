/**
 * Writes this node's counts to the durable record in batches, once per interval.
 *
 * Guarantees:
 *  - A batch carries, per key, what was cached but not yet batched (never more: see counter-state).
 *  - Batches are numbered per node, continuing after the last seq the record holds for this node.
 *  - A failed batch (error or timeout: it may or may not have committed) is retried unchanged, with
 *    the same seq, before any newer batch is formed; the record ignores a seq it already applied,
 *    so a retry never double counts. Deltas keep accumulating in memory meanwhile (one number per
 *    key, so memory is bounded by the number of keys, not by the number of buzzes).
 *  - On a crash, what was not committed is lost: at most one interval plus one tick of this node's
 *    buzzes (plus whatever accumulated while the record was unreachable).
 */
import type { CountBatch, CountRow, Record } from "../record/record.ts";
import type { Logger } from "../ops/logger.ts";
import type { CounterState, CounterTable } from "./counter-state.ts";

interface InFlight {
  batch: CountBatch;
  /** The counters and the `batched` value each will have committed. */
  marks: Array<[CounterState, number]>;
}

export interface RecordWriterStats {
  batches: number;
  rows: number;
  errors: number;
  lastError: string | null;
}

export class RecordWriter {
  private seq = 0;
  private pending: InFlight | null = null;
  private running: Promise<void> | null = null;
  readonly stats: RecordWriterStats = { batches: 0, rows: 0, errors: 0, lastError: null };
  healthy = true;

  constructor(
    private readonly record: Record,
    private readonly node: string,
    private readonly counters: CounterTable,
    private readonly log: Logger,
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

  /** Resolves once no write is running (including one started while waiting). */
  private async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async run(includeUncached: boolean): Promise<void> {
    if (!this.pending) this.pending = this.form(includeUncached);
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
      await this.record.persistCounts(p.batch);
      for (const [c, upTo] of p.marks) c.persisted = upTo;
      this.pending = null;
      this.healthy = true;
      this.stats.batches++;
      this.stats.rows += p.batch.rows.length;
    } catch (err) {
      this.fail(err);
    }
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
    for (const c of this.counters.all()) {
      const upTo = includeUncached ? c.arrived : c.cached;
      if (upTo > c.batched) {
        rows.push({ show: c.show, epoch: c.epoch, act: c.act, delta: upTo - c.batched });
        marks.push([c, upTo]);
        c.batched = upTo;
      }
    }
    if (rows.length === 0) return null;
    rows.sort((a, b) => cmp(a.show, b.show) || cmp(a.epoch, b.epoch) || cmp(a.act, b.act));
    return { batch: { node: this.node, batchSeq: ++this.seq, rows }, marks };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
