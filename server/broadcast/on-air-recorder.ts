/**
 * What this node put on air for each act after its voting closed, written to the record
 * (`on_air`, one row per show, epoch, act and node), so an export can show the adjudicator that the
 * totals the audience saw are the totals counted.
 *
 * Guarantees:
 *  - At the close the act's value in the last published frame is recorded; then, for WATCH_MS
 *    (longer than the 30 s in which reconciliation may still raise a closed act; longer still when
 *    the first reconcile pass comes later, see node.ts), every later frame
 *    that changes it replaces the row. The row's `at_ms` is the frame's tick instant, so the record
 *    ends holding the final frame every screen of this node received for the act.
 *  - A reset (new epoch) ends the watch of the old epoch: its last frame was recorded.
 *  - One write in flight at a time; rows waiting are coalesced per act (the newest wins). A failed
 *    write is counted and logged and retried at most once a second, the newest values each time;
 *    `flush()` at drain writes what is left. What is lost on crash: only the rows not yet written,
 *    and the export then shows the earlier value (or none) for that node.
 */
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import type { OnAirTotal } from "../record/record.ts";
import type { LiveTotals } from "./hub.ts";

/** Reconciliation raises a closed act for 30 s after the close; watch a margin past that. */
export const WATCH_MS = 45_000;
const RETRY_MS = 1000;

export interface OnAirSink {
  recordOnAir(rows: readonly OnAirTotal[]): Promise<void>;
}

interface Watch {
  epoch: string;
  act: string;
  closedAtMs: number;
  untilMs: number;
  last: number | null;
}

export class OnAirRecorder {
  /** show -> act -> watch (one close at a time per act: a later close replaces the watch). */
  private readonly watches = new Map<string, Map<string, Watch>>();
  /** JSON [show, epoch, act] -> the newest row not written yet. */
  private readonly pending = new Map<string, OnAirTotal>();
  private writing: Promise<void> | null = null;
  private retryAtMs = 0;
  private writes = 0;
  private failures = 0;

  constructor(
    private readonly sink: OnAirSink,
    private readonly node: string,
    private readonly log: Logger,
    /** How long after a close frames are watched: at least WATCH_MS, and past the first reconcile pass. */
    private readonly watchMs = WATCH_MS,
  ) {}

  /** Voting for `act` closed (or the act left the stage, or the epoch ended) at `nowMs`; `onAir` is its value in the last frame. */
  closed(show: string, epoch: string, act: string, nowMs: number, onAir: number | undefined): void {
    const byAct = this.watches.get(show) ?? new Map<string, Watch>();
    this.watches.set(show, byAct);
    const w: Watch = { epoch, act, closedAtMs: nowMs, untilMs: nowMs + this.watchMs, last: null };
    byAct.set(act, w);
    if (onAir !== undefined) this.note(show, w, onAir, nowMs);
    this.kick(nowMs);
  }

  /** After each publish phase: `live` is what the show's last frame carried, `epoch` the show's epoch, `ts` the tick instant. */
  published(show: string, epoch: string, live: LiveTotals, ts: number): void {
    const byAct = this.watches.get(show);
    if (byAct === undefined && this.pending.size === 0) return;
    for (const [act, w] of byAct ?? []) {
      if (w.epoch !== epoch || ts > w.untilMs) {
        byAct?.delete(act);
        continue;
      }
      const v = live.totals[act];
      if (v !== undefined && v !== w.last) this.note(show, w, v, ts);
    }
    if (byAct !== undefined && byAct.size === 0) this.watches.delete(show);
    this.kick(ts);
  }

  /** Write whatever waits (drain). Resolves when written or when the write failed (counted, logged). */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
    this.retryAtMs = 0;
    this.kick(Date.now());
    if (this.writing) await this.writing;
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_on_air_writes_total",
        help: "On-air totals written to the record.",
        kind: "counter",
        samples: [{ value: this.writes }],
      },
      {
        name: "buzzcast_on_air_write_errors_total",
        help: "Writes of on-air totals that failed (retried with the newest values).",
        kind: "counter",
        samples: [{ value: this.failures }],
      },
    ];
  }

  private note(show: string, w: Watch, total: number, atMs: number): void {
    w.last = total;
    this.pending.set(JSON.stringify([show, w.epoch, w.act]), {
      show,
      epoch: w.epoch,
      act: w.act,
      node: this.node,
      total,
      atMs,
      closedAtMs: w.closedAtMs,
    });
  }

  private kick(nowMs: number): void {
    if (this.writing !== null || this.pending.size === 0 || nowMs < this.retryAtMs) return;
    const rows = [...this.pending.values()];
    this.pending.clear();
    this.writing = this.sink.recordOnAir(rows).then(
      () => {
        this.writes += rows.length;
        this.writing = null;
      },
      (err: unknown) => {
        this.failures++;
        this.writing = null;
        this.retryAtMs = Date.now() + RETRY_MS;
        // Put back what no newer value replaced meanwhile.
        for (const r of rows) {
          const k = JSON.stringify([r.show, r.epoch, r.act]);
          if (!this.pending.has(k)) this.pending.set(k, r);
        }
        this.log.warn("writing on-air totals to the record failed; retrying", { err, rows: rows.length });
      },
    );
  }
}
