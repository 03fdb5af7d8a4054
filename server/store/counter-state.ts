/**
 * Per (show, epoch, act) bookkeeping of one node's contribution, as cumulative amounts since this
 * process started. CounterTable's methods are the only writers of a counter's fields (the store,
 * the record writer, the seed and the reads call them). Invariants:
 *   persisted <= batched <= cached <= arrived
 * - arrived:   buzzes handed over by the tick loop.
 * - cached:    applied to the global counter in memcached (or covered by a seed).
 * - batched:   included in the record batch in flight or committed.
 * - persisted: committed to the record.
 * Persisting only what is already cached is what makes re-seeding a lost memcached key exact:
 * whatever the record holds was in the old key, and whatever is not in the record is re-added by the
 * node that still has it in memory (arrived - persisted).
 *
 * In doubt: a write that timed out (an `incr`, a seed `add`) may still be applied later, so it is
 * taken as applied (`cached`) but its amount is `doubtful` until `doubtUntil`: neither persisted
 * (a close's reconciliation raises live to the record: were it persisted and then landed, it would
 * count twice) nor re-added by a seed (it may land on the new key). Past `doubtUntil` it is
 * assumed landed or lost for good: it is persisted, and a reconciliation restores it if lost.
 *
 * Memory is bounded by the live show epochs: a retired epoch's counters are dropped once every one
 * of them is cached and persisted (arrived == persisted), and kept for as long as one is not.
 */
import { epochKey } from "../shows/epoch-key.ts";
import { takeEntries, viewerEntries, type QueuedAudit } from "./audit-queue.ts";

export interface CounterState {
  readonly show: string;
  readonly epoch: string;
  readonly act: string;
  readonly key: string;
  readonly arrived: number;
  readonly cached: number;
  readonly batched: number;
  readonly persisted: number;
  /** Last value of the global counter this node saw (from incr, get or seed). */
  readonly lastKnown: number;
  /** Part of `cached` sent in writes that timed out and may still land (see the file comment). */
  readonly doubtful: number;
  /** When `doubtful` is taken as settled (ms since the Unix epoch). */
  readonly doubtUntil: number;
  /**
   * With an audit log: who cast the buzzes arrived and not yet batched, oldest first (the record
   * writer takes as many as each batch's delta, `takeAudit`). A record-decided claim enters it when
   * the record accepts it (its reserved row gets its count from this entry).
   */
  readonly audit: readonly QueuedAudit[];
}

/** The writable view of a counter, for CounterTable's methods only (the interface is read-only). */
type Writable = { -readonly [K in keyof CounterState]: CounterState[K] } & { audit: QueuedAudit[] };
const w = (c: CounterState): Writable => c as Writable;

export function counterKey(prefix: string, show: string, epoch: string, act: string): string {
  return `${prefix}:c:${show}:${epoch}:${act}`;
}

interface EpochCounters {
  readonly byAct: Map<string, CounterState>;
  retired: boolean;
}

export class CounterTable {
  private readonly byEpoch = new Map<string, EpochCounters>();
  /** Counters that may have arrived > cached; trimmed on every walk. */
  private readonly uncachedSet = new Set<CounterState>();
  /** Retired epochs still held (something in them not yet cached or persisted). */
  private readonly retiredKeys = new Set<string>();
  /** Counters with an amount in doubt. */
  private readonly doubted = new Set<CounterState>();

  constructor(private readonly prefix: string) {}

  get(show: string, epoch: string, act: string): CounterState {
    const ek = epochKey(show, epoch);
    let e = this.byEpoch.get(ek);
    if (!e) this.byEpoch.set(ek, (e = { byAct: new Map(), retired: false }));
    let c = e.byAct.get(act);
    if (!c) {
      c = {
        show,
        epoch,
        act,
        key: counterKey(this.prefix, show, epoch, act),
        arrived: 0,
        cached: 0,
        batched: 0,
        persisted: 0,
        lastKnown: 0,
        doubtful: 0,
        doubtUntil: 0,
        audit: [],
      };
      e.byAct.set(act, c);
    }
    return c;
  }

  /** The counter if this node holds one (never creates). */
  find(show: string, epoch: string, act: string): CounterState | undefined {
    return this.byEpoch.get(epochKey(show, epoch))?.byAct.get(act);
  }

  /** `n` buzzes handed over for `c`. */
  arrive(c: CounterState, n: number): void {
    w(c).arrived += n;
    this.uncachedSet.add(c);
  }

  /** `unlimited` audit: queue who cast `delta` buzzes that arrived for `c` (viewerEntries). */
  queueViewers(c: CounterState, viewers: ReadonlyMap<string, number> | undefined, delta: number, now: number): void {
    viewerEntries(c, viewers, delta, now, w(c).audit);
  }

  /**
   * A `once` claim of `viewer` counted for `c` (cast at `atMs`): one buzz arrives and, with an audit
   * log (`audited`), its `once` entry is queued and returned (the caller journals it in this turn).
   */
  countOnce(c: CounterState, viewer: string, atMs: number, audited: boolean): QueuedAudit | null {
    this.arrive(c, 1);
    if (!audited) return null;
    const q: QueuedAudit = { show: c.show, epoch: c.epoch, act: c.act, viewer, atMs, count: 1, once: true };
    w(c).audit.push(q);
    return q;
  }

  /**
   * Take `n` buzzes' audit entries off the head of `c`'s queue, oldest first: an entry the batch
   * ends inside is taken in part and its remainder stays queued. `short`: how many buzzes the queue
   * lacked (the store never lets that happen; the caller records them as viewer "?").
   */
  takeAudit(c: CounterState, n: number): { taken: QueuedAudit[]; short: number } {
    return takeEntries(w(c).audit, n);
  }

  /** The global counter read `value` (lastKnown only rises). */
  saw(c: CounterState, value: number): void {
    w(c).lastKnown = Math.max(c.lastKnown, value);
  }

  /** A record batch now carries `c`'s buzzes up to `upTo` (cumulative). */
  batchedUpTo(c: CounterState, upTo: number): void {
    w(c).batched = upTo;
  }

  /** A batch carrying `n` of `c`'s buzzes committed. */
  persistedMore(c: CounterState, n: number): void {
    w(c).persisted += n;
  }

  /** `n` buzzes applied to the global counter, which then read `value` (null: not known). */
  applied(c: CounterState, n: number, value: number | null): void {
    w(c).cached += n;
    if (value !== null) this.saw(c, value);
  }

  /** `n` buzzes sent in a write that timed out: taken as applied, in doubt until `until`. */
  assumeApplied(c: CounterState, n: number, until: number): void {
    w(c).cached += n;
    if (n === 0) return;
    w(c).doubtful += n;
    w(c).doubtUntil = Math.max(c.doubtUntil, until);
    this.doubted.add(c);
  }

  /** A seed write carrying `carried` (the own share) timed out: every buzz of `c` is taken as covered, `carried` in doubt. */
  assumeSeeded(c: CounterState, carried: number, until: number): void {
    w(c).cached = c.arrived;
    if (carried === 0) return;
    w(c).doubtful += carried;
    w(c).doubtUntil = Math.max(c.doubtUntil, until);
    this.doubted.add(c);
  }

  /** A seed covered every buzz of `c` (its value included `ownShare(c)`; the rest is in doubt). */
  seeded(c: CounterState, value: number | null): void {
    this.applied(c, c.arrived - c.cached, value);
  }

  /** Buzzes of `c` a seed adds on top of the record: not persisted and not in doubt. */
  ownShare(c: CounterState): number {
    return c.arrived - c.persisted - c.doubtful;
  }

  /** What a batch may persist up to: cached and not in doubt. */
  persistable(c: CounterState): number {
    return c.cached - c.doubtful;
  }

  /** Amounts whose doubt window is over are settled: persisted from now on. */
  settleDoubts(now: number): void {
    for (const c of this.doubted) {
      if (now < c.doubtUntil) continue;
      w(c).doubtful = 0;
      this.doubted.delete(c);
    }
  }

  /** Buzzes in doubt, over every key. */
  inDoubt(): number {
    let n = 0;
    for (const c of this.doubted) n += c.doubtful;
    return n;
  }

  /** Counters with buzzes not yet in the global counter (walks only those, not every counter). */
  needingCache(): CounterState[] {
    const out: CounterState[] = [];
    for (const c of this.uncachedSet) {
      if (c.arrived > c.cached) out.push(c);
      else this.uncachedSet.delete(c);
    }
    return out;
  }

  /** The caller will not name this epoch again: drop its counters once they are settled. */
  retire(show: string, epoch: string): void {
    const ek = epochKey(show, epoch);
    const e = this.byEpoch.get(ek);
    if (!e || e.retired) return;
    e.retired = true;
    this.retiredKeys.add(ek);
  }

  /** Whether this node still holds counters of the epoch. */
  holds(show: string, epoch: string): boolean {
    return this.byEpoch.has(epochKey(show, epoch));
  }

  /** Drop every retired epoch whose counters are all cached and persisted. */
  prune(): void {
    for (const ek of this.retiredKeys) {
      const e = this.byEpoch.get(ek);
      if (e) {
        let settled = true;
        for (const c of e.byAct.values()) if (c.persisted !== c.arrived || c.cached !== c.arrived) settled = false;
        if (!settled) continue;
        for (const c of e.byAct.values()) {
          this.uncachedSet.delete(c);
          this.doubted.delete(c);
        }
        this.byEpoch.delete(ek);
      }
      this.retiredKeys.delete(ek);
    }
  }

  /** Counters held. */
  get size(): number {
    let n = 0;
    for (const e of this.byEpoch.values()) n += e.byAct.size;
    return n;
  }

  *all(): IterableIterator<CounterState> {
    for (const e of this.byEpoch.values()) yield* e.byAct.values();
  }

  /** Buzzes not yet in the global counter, over every key. */
  uncached(): number {
    let n = 0;
    for (const c of this.all()) n += c.arrived - c.cached;
    return n;
  }

  /** Buzzes not yet committed to the record, over every key. */
  unpersisted(): number {
    let n = 0;
    for (const c of this.all()) n += c.arrived - c.persisted;
    return n;
  }
}
