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
 * Generations: memcached may lose a key (flush_all, restart) and another node re-create it from the
 * record before this node notices; this node's buzzes that were in the lost key and not yet in the
 * record are then missing from the new key, and this node's next `incr` succeeds on it. So every
 * creation of a counter key is labelled: the seed first `add`s a generation key beside it (same
 * server, lost with it) holding a label unique to that creation, then `add`s the counter. A read
 * of both (generation first, in one pipeline, sent after every `incr` of this node resolved) that
 * finds the counter present shows the label of its current incarnation or of an earlier one:
 * - the label this node holds (`gen`): every amount it had cached when it sent the read
 *   (`confirmed`, less what is in doubt or waiting to be re-added) is in that incarnation;
 * - another label: the incarnation `confirmed` was in is gone (a label only changes when the
 *   generation key was lost, and the counter with it), so `confirmed - batched` is re-added with
 *   the next `incr` (`lost`; the total shown does not count it twice). What was batched may be in
 *   the record the new seed read, so it is never re-added: at worst short until a close's
 *   reconciliation, never counted twice. Amounts cached after the last confirming read are taken
 *   as in the new incarnation, with the same worst case.
 * A read that finds the counter missing makes everything cached lost (`gen` null); the seed, or
 * the first label seen, re-adds it. `lost` is not persisted until re-added: the record never holds
 * a buzz of this node that is not in the live counter (the reconciliation relies on it).
 *
 * Memory is bounded by the live show epochs: a retired epoch's counters are dropped once every one
 * of them is cached and persisted (arrived == persisted), and kept for as long as one is not.
 */
import type { AuditEntry } from "../record/record.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { ShowFlush } from "./store.ts";

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
  /** The generation key, beside `key` on its memcached server. */
  readonly genKey: string;
  /** Label of the incarnation `confirmed` is in; null: unknown, or the key was found missing. */
  readonly gen: string | null;
  /** Cached amount (less doubtful and lost) known to be in incarnation `gen` (or lost, when `gen` is null). */
  readonly confirmed: number;
  /** Part of `cached` a lost incarnation took with it: re-added by the next `incr` (see the file comment). */
  readonly lost: number;
  /**
   * With an audit log: who cast the buzzes arrived and not yet batched, oldest first (the record
   * writer takes as many as each batch's delta). A record-decided claim enters it when the record
   * accepts it (its reserved row gets its count from this entry).
   */
  readonly audit: QueuedAudit[];
}

/** An audit entry waiting in a counter's queue; `once` entries count 1 and become `once` rows. */
export interface QueuedAudit extends AuditEntry {
  readonly once: boolean;
}

/** The writable view of a counter, for CounterTable's methods only (the interface is read-only). */
type Writable = { -readonly [K in keyof CounterState]: CounterState[K] };
const w = (c: CounterState): Writable => c;

export function counterKey(prefix: string, show: string, epoch: string, act: string): string {
  return `${prefix}:c:${show}:${epoch}:${act}`;
}

/** The generation key's name before placement (`Cache.beside` puts it on the counter's server). */
export function genKeyBase(prefix: string, show: string, epoch: string, act: string): string {
  return `${prefix}:g:${show}:${epoch}:${act}`;
}

/** Places a generation key on its counter's memcached server (default: the name as it is). */
export type PlaceBeside = (key: string, base: string) => string;

/** What a read of a counter and its generation key found. */
export interface Observed {
  /** The counter exists. */
  present: boolean;
  /** The generation key's value (undefined: missing). */
  label: string | undefined;
  /** `snapshot(c)` taken when the read was sent. */
  snapshot: number;
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

  constructor(
    private readonly prefix: string,
    private readonly place: PlaceBeside = (_key, base) => base,
  ) {}

  get(show: string, epoch: string, act: string): CounterState {
    const ek = epochKey(show, epoch);
    let e = this.byEpoch.get(ek);
    if (!e) this.byEpoch.set(ek, (e = { byAct: new Map(), retired: false }));
    let c = e.byAct.get(act);
    if (!c) {
      const key = counterKey(this.prefix, show, epoch, act);
      c = {
        show,
        epoch,
        act,
        key,
        genKey: this.place(key, genKeyBase(this.prefix, show, epoch, act)),
        gen: null,
        confirmed: 0,
        lost: 0,
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

  /** `n` of `lost` re-added by an `incr` that succeeded. */
  readded(c: CounterState, n: number): void {
    w(c).lost -= n;
  }

  /** An `incr` re-adding `n` of `lost` timed out: taken as re-added, in doubt until `until`. */
  assumeReadded(c: CounterState, n: number, until: number): void {
    w(c).lost -= n;
    if (n === 0) return;
    w(c).doubtful += n;
    w(c).doubtUntil = Math.max(c.doubtUntil, until);
    this.doubted.add(c);
  }

  /** What of `cached` a read sent now confirms in the incarnation it finds (not in doubt, not lost). */
  snapshot(c: CounterState): number {
    return c.cached - c.doubtful - c.lost;
  }

  /**
   * A read of the counter and its generation key (generation first, sent after every `incr` of
   * `c` resolved). Returns how much it found lost and queued for re-adding (see the file comment).
   */
  observed(c: CounterState, o: Observed): number {
    if (!o.present) {
      w(c).gen = null;
      w(c).confirmed = o.snapshot;
      return 0;
    }
    if (o.label === undefined) return 0; // the counter was re-created after the label was read: next read
    if (o.label === c.gen) {
      w(c).confirmed = o.snapshot;
      return 0;
    }
    // Another incarnation: what was confirmed in the previous one (or found missing) and is not
    // in the record (nor in a batch that may be) is not in this one.
    const lost = Math.max(0, c.confirmed - c.batched);
    w(c).gen = o.label;
    w(c).confirmed = c.batched;
    if (lost > 0) {
      w(c).lost += lost;
      this.uncachedSet.add(c);
    }
    return lost;
  }

  /** A seed write carrying `carried` (the own share) timed out: every buzz of `c` is taken as covered, `carried` in doubt. */
  assumeSeeded(c: CounterState, carried: number, until: number): void {
    w(c).cached = c.arrived;
    this.relabel(c, null);
    if (carried === 0) return;
    w(c).doubtful += carried;
    w(c).doubtUntil = Math.max(c.doubtUntil, until);
    this.doubted.add(c);
  }

  /**
   * A seed covered every buzz of `c` (its value included `ownShare(c)`; the rest is in doubt).
   * `label`: the incarnation the seed's `add` created (null: it added to one it does not know).
   */
  seeded(c: CounterState, value: number | null, label: string | null): void {
    this.applied(c, c.arrived - c.cached, value);
    this.relabel(c, label);
  }

  /** After a seed: nothing waits to be re-added; what is confirmed in `label` is all that is not in doubt. */
  private relabel(c: CounterState, label: string | null): void {
    w(c).lost = 0;
    w(c).gen = label;
    w(c).confirmed = label === null ? c.batched : c.cached - c.doubtful;
  }

  /** Buzzes of `c` a seed adds on top of the record: not persisted and not in doubt (lost included). */
  ownShare(c: CounterState): number {
    return c.arrived - c.persisted - c.doubtful;
  }

  /** What a batch may persist up to: cached, not in doubt, not waiting to be re-added. */
  persistable(c: CounterState): number {
    return c.cached - c.doubtful - c.lost;
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

  /** Counters with buzzes not yet in the global counter, or lost from it (walks only those, not every counter). */
  needingCache(): CounterState[] {
    const out: CounterState[] = [];
    for (const c of this.uncachedSet) {
      if (c.arrived > c.cached || c.lost > 0) out.push(c);
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

  /** Drop every retired epoch whose counters are all cached and persisted. */
  prune(): void {
    for (const ek of this.retiredKeys) {
      const e = this.byEpoch.get(ek);
      if (e) {
        let settled = true;
        for (const c of e.byAct.values()) if (c.persisted !== c.arrived || c.cached !== c.arrived || c.lost > 0) settled = false;
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
    for (const c of this.all()) n += c.arrived - c.cached + c.lost;
    return n;
  }

  /** Buzzes not yet committed to the record, over every key. */
  unpersisted(): number {
    let n = 0;
    for (const c of this.all()) n += c.arrived - c.persisted;
    return n;
  }
}

/** `unlimited` audit: queue who cast a delta's buzzes (buzzes without a viewer are queued as viewer "?"). */
export function queueViewers(
  c: Pick<CounterState, "show" | "epoch" | "act" | "audit">,
  viewers: ReadonlyMap<string, number> | undefined,
  delta: number,
  now: number,
): void {
  let left = delta;
  for (const [viewer, count] of viewers ?? []) {
    c.audit.push({ show: c.show, epoch: c.epoch, act: c.act, viewer, atMs: now, count, once: false });
    left -= count;
  }
  if (left > 0) c.audit.push({ show: c.show, epoch: c.epoch, act: c.act, viewer: "?", atMs: now, count: left, once: false });
}

/** The audit entries `queueViewers` queues for a batch's deltas, in the same order (the journal's). */
export function deltaEntries(batch: readonly ShowFlush[], now: number): QueuedAudit[] {
  const out: QueuedAudit[] = [];
  for (const f of batch)
    for (const d of f.deltas) queueViewers({ show: f.show, epoch: f.epoch, act: d.act, audit: out }, d.viewers, d.delta, now);
  return out;
}
