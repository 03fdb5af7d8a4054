/**
 * The schedule of reconciliation after a close (the passes themselves are in reseed.ts).
 *
 * Guarantees: after voting closes, one node (the holder of the close's lock, a row in the record)
 * raises live totals to the record at `delayMs`, then again every max(250 ms, `delayMs`) for
 * RECONCILE_WINDOW_MS, one pass after the other (two raises never race). Every node keeps trying
 * to take the lock, every pass period, until one attempt is answered: a close whose lock attempts
 * all fail stays unreconciled only if the record is unreachable from every node for the whole
 * window. A batch that reaches the record late (its node was cut from MySQL or memcached for a
 * while) is still raised into live; one that reaches it later than the window waits for the show's
 * next close. `stop` cancels every pass not started.
 * A failed pass is counted and logged; the next one still runs.
 * A later change of the same act ends them: a later close hands the act over (this node's
 * remaining passes drop it as soon as the close reaches it; every node hears every close), so the
 * passes of two closes, which two different nodes may own, do not race on one act; a reopen ends
 * them (a pass while counting runs again would be safe, since the record only holds buzzes the
 * live counter was given, but nothing is left to settle for that close: the next close does).
 */
import type { Logger } from "../ops/logger.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { StoreClock } from "./store-clock.ts";
import { raiseToRecord, reconcileFromRecord, type ReconcileTarget, type ReseedDeps } from "./reseed.ts";

const RECONCILE_WINDOW_MS = 30_000;
const MIN_PASS_EVERY_MS = 250;

export interface CloseReconcilerOptions {
  prefix: string;
  /** The token this process's close locks hold in the record: unique per process (a lost answer is recognised by it). */
  lockToken: string;
  /** Every node must have seen the close and persisted by then. */
  delayMs: number;
  clock: StoreClock;
}

export class CloseReconciler {
  errors = 0;
  private readonly timers = new Set<unknown>();
  /**
   * Per show epoch (epochKey): the version of each act's latest close or reopen. Kept per epoch, not
   * per show: a close in a new epoch must not end the passes still due for an earlier epoch's close
   * (that epoch's live totals would stay short of the record for good). An earlier epoch's entry is
   * dropped once no pass of it is scheduled.
   */
  private readonly latest = new Map<string, { show: string; changes: Map<string, number> }>();
  /** Closes whose passes are scheduled or running on this node. */
  private readonly scheduled = new Set<ReconcileTarget>();

  constructor(
    private readonly deps: ReseedDeps,
    private readonly opts: CloseReconcilerOptions,
    private readonly log: Logger,
  ) {}

  /** Voting for these acts closed, as of show `version`. */
  closed(t: ReconcileTarget): void {
    this.changed(t);
    this.scheduled.add(t);
    this.lock(t, this.opts.delayMs, Math.ceil(RECONCILE_WINDOW_MS / this.passEveryMs()));
  }

  /**
   * Take the close's lock in the record, then run the passes if this process holds it. An attempt
   * that fails (record unreachable, or timed out: it may have been applied, or land later) is
   * repeated every pass period for as long as the window lasts: the record never loses a lock row,
   * so a close without one is owned by nobody and inserting again is safe, and a row our earlier
   * attempt left is recognised by its token (Record.lockClose). Another token there: another node
   * owns the close.
   */
  private lock(t: ReconcileTarget, inMs: number, left: number): void {
    this.later(inMs, async () => {
      const acts = this.stillOurs(t);
      if (acts.length === 0 || left <= 0) return void this.scheduled.delete(t);
      let won: boolean;
      try {
        won = await this.deps.record.lockClose(t.show, t.epoch, t.version, this.opts.lockToken);
      } catch (err) {
        this.lock(t, this.passEveryMs(), left - 1);
        throw err;
      }
      if (!won) return void this.scheduled.delete(t);
      try {
        // The winner owns the whole window: a first pass that fails (record unreachable) must not
        // end it, or nobody would ever raise this close (the lock is taken).
        await raiseToRecord(this.deps, this.opts.prefix, this.log, { ...t, acts });
      } finally {
        this.passes(t, left);
      }
    });
  }

  /** Voting for these acts opened again, as of show `version`: earlier closes' passes drop them. */
  opened(t: ReconcileTarget): void {
    this.changed(t);
  }

  /** Acts of this show epoch that a pass of this node may still raise (scheduled or running). */
  owned(show: string, epoch: string): string[] {
    const acts = new Set<string>();
    for (const t of this.scheduled) if (t.show === show && t.epoch === epoch) for (const a of this.stillOurs(t)) acts.add(a);
    return [...acts].sort();
  }

  private changed(t: ReconcileTarget): void {
    const k = epochKey(t.show, t.epoch);
    let l = this.latest.get(k);
    if (!l) {
      this.latest.set(k, (l = { show: t.show, changes: new Map() }));
      this.prune(t.show, k);
    }
    for (const act of t.acts) l.changes.set(act, Math.max(t.version, l.changes.get(act) ?? t.version));
  }

  /** Drop the show's other epochs that no scheduled pass names. */
  private prune(show: string, keep: string): void {
    for (const [k, l] of this.latest) {
      if (l.show !== show || k === keep) continue;
      if (![...this.scheduled].some((t) => epochKey(t.show, t.epoch) === k)) this.latest.delete(k);
    }
  }

  /** The first pass, if this node wins the close's lock: how much it added (null: another node won). */
  firstPass(t: ReconcileTarget): Promise<number | null> {
    return reconcileFromRecord(this.deps, this.opts.prefix, this.opts.lockToken, this.log, t);
  }

  stop(): void {
    for (const t of this.timers) this.opts.clock.clearTimer(t);
    this.timers.clear();
    this.scheduled.clear();
  }

  private passes(t: ReconcileTarget, left: number): void {
    const acts = this.stillOurs(t);
    if (left <= 0 || acts.length === 0) return void this.scheduled.delete(t);
    this.later(this.passEveryMs(), async () => {
      try {
        const now = this.stillOurs(t);
        if (now.length > 0) await raiseToRecord(this.deps, this.opts.prefix, this.log, { ...t, acts: now });
      } finally {
        this.passes(t, left - 1);
      }
    });
  }

  /** The close's acts that no later close or reopen (heard by this node) has taken over. */
  private stillOurs(t: ReconcileTarget): string[] {
    const l = this.latest.get(epochKey(t.show, t.epoch));
    if (!l) return [];
    return t.acts.filter((act) => (l.changes.get(act) ?? t.version) <= t.version);
  }

  private passEveryMs(): number {
    return Math.max(MIN_PASS_EVERY_MS, this.opts.delayMs);
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const timer = this.opts.clock.setTimer(() => {
      this.timers.delete(timer);
      fn().catch((err: unknown) => {
        this.errors++;
        this.log.error("reconcile failed", { err });
      });
    }, ms);
    this.timers.add(timer);
  }
}
