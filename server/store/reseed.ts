/**
 * Repairs of the shared Store's global counters from the durable record: re-seeding a counter key
 * memcached lost (flush, restart, eviction, new epoch), and the reconciliation at voting close that
 * raises live totals to the record (other nodes' buzzes a lost key took with it).
 *
 * Guarantees: neither ever lowers a global total (clients never see one decrease); a seed counts
 * this node's unpersisted buzzes exactly once, whether its `add` wins or another node seeded first.
 */
import { randomBytes } from "node:crypto";
import { CacheError, type Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Record } from "../record/record.ts";
import { counterKey, type CounterState, type CounterTable } from "./counter-state.ts";
import type { RecordWriter } from "./record-writer.ts";

/** What the repairs use of the SharedStore (its public fields). */
export interface ReseedDeps {
  /** The dual cache (seeds go through it). */
  readonly cache: Cache;
  /** The cache behind it (reconciliation reads must be fresh). */
  readonly global: Cache;
  readonly record: Record;
  readonly writer: RecordWriter;
  readonly counters: CounterTable;
  readonly counts: { seeds: number; seedConflicts: number; seedDeferred: number; raised: number; reconcilePasses: number };
  /** Labels this node's seeds write beside the counters (unique with a random suffix). */
  readonly nodeId: string;
  /** Until when a write timing out now stays in doubt (counter-state.ts). */
  doubtUntil(): number;
}

/** The voting close being reconciled; `version` makes each close its own lock. */
export interface ReconcileTarget {
  show: string;
  epoch: string;
  acts: readonly string[];
  version: number;
}

/**
 * Re-create a missing global counter from the record plus this node's unpersisted buzzes.
 * Runs while the record writer is settled and held, so `persisted` is exactly what the record
 * holds from the read to the last cache operation: nothing this node adds as its own share can be
 * in a record another node seeded from.
 * The generation key is added first, with a label unique to this creation (counter-state.ts), and
 * read back once the counter is created: a node holds a label as its incarnation's only if the label
 * was still there after its counter was created (so no loss came between), and a node that later
 * finds another label knows the incarnation its buzzes were in is gone.
 */
export async function seedCounter(s: ReseedDeps, c: CounterState): Promise<void> {
  const r = await s.writer.whileSettled(() => seedHeld(s, c));
  if (!r.ran) s.counts.seedDeferred++; // record unreachable: keep the deltas, try again next tick
}

async function seedHeld(s: ReseedDeps, c: CounterState): Promise<void> {
  const recorded = (await s.record.countTotals(c.show, c.epoch)).get(c.act) ?? 0;
  // Amounts in doubt stay out: their write may still land, on this new key too.
  const own = s.counters.ownShare(c);
  // The total shown never drops as this node's pending buzzes move into the key, even when the new
  // key lacks other nodes' buzzes the lost one had (they re-add theirs; the close reconciles).
  const shown = c.lastKnown + (c.arrived - c.cached);
  // Nothing of this node's share is written before the label: a failure here changes nothing.
  const label = `${s.nodeId}.${randomBytes(6).toString("hex")}`;
  const labelled = await s.global.add(c.genKey, label);
  let added: boolean;
  try {
    added = await s.cache.add(c.key, String(recorded + own));
  } catch (err) {
    // The add may still land (or have landed): like a timed-out incr, its share is in doubt.
    if (isTimeout(err)) {
      s.counters.assumeSeeded(c, own, s.doubtUntil());
      s.counters.saw(c, shown);
    }
    throw err;
  }
  if (added) {
    s.counts.seeds++;
    // Our label names this incarnation only if nothing was lost between the two adds: a loss after
    // the label's add and before the counter's leaves the counter unlabelled, and another seeder may
    // then label it as its own (taken for a new incarnation, our buzzes would be re-added: counted
    // twice). Only our label, read back still there, is this incarnation's; otherwise (another
    // seeder's label, or none) the next read adopts whichever it is and re-adds nothing.
    let ours: boolean;
    try {
      ours = labelled && (await s.global.get(c.genKey)) === label;
    } catch (err) {
      s.counters.seeded(c, recorded + own, null);
      s.counters.saw(c, shown);
      throw err;
    }
    s.counters.seeded(c, recorded + own, ours ? label : null);
    s.counters.saw(c, shown);
    return;
  }
  // Another node seeded it first, from the record as it stood then: our unpersisted buzzes are
  // not in that seed (they are not in the record yet), so add them.
  s.counts.seedConflicts++;
  if (own === 0) {
    s.counters.seeded(c, null, null);
    s.counters.saw(c, shown);
    return;
  }
  let v: number | null;
  try {
    v = await s.cache.incr(c.key, own);
  } catch (err) {
    if (isTimeout(err)) {
      s.counters.assumeSeeded(c, own, s.doubtUntil());
      s.counters.saw(c, shown);
    }
    throw err;
  }
  if (v === null) return; // lost again already; next tick seeds once more
  // Which incarnation the incr reached is not known: the next read with a label tells, and re-adds nothing of this.
  s.counters.seeded(c, v, null);
  s.counters.saw(c, shown);
}

function isTimeout(err: unknown): boolean {
  return err instanceof CacheError && err.code === "timeout";
}

/**
 * Raise live totals to the record where the record has more (buzzes a lost key took with it).
 * One node does it per (show, epoch, version): the one whose token the record's lock of that close
 * holds (Record.lockClose); that node alone runs every later pass (raiseToRecord) for the same
 * close, one after the other, so two raises never race each other. Returns how much this first
 * pass added (null: another node holds the lock).
 */
export async function reconcileFromRecord(
  s: ReseedDeps,
  prefix: string,
  token: string,
  log: Logger,
  t: ReconcileTarget,
): Promise<number | null> {
  if (!(await s.record.lockClose(t.show, t.epoch, t.version, token))) return null;
  return raiseToRecord(s, prefix, log, t);
}

/**
 * One pass: for each act, add (record - live) to the global counter where the record has more.
 * Exact because a node persists only what it already applied to the global counter (counter-state):
 * every buzz in the record was in memcached before the record read, so record - live is at most
 * what memcached lost, and the `incr` keeps increments racing with it. Never lowers a total.
 */
export async function raiseToRecord(s: ReseedDeps, prefix: string, log: Logger, t: ReconcileTarget): Promise<number> {
  const { show, epoch, acts } = t;
  await s.writer.settle();
  const recorded = await s.record.countTotals(show, epoch);
  let raised = 0;
  for (const act of acts) {
    // find, not get: a retired epoch's counters may be pruned already; never re-create them.
    const key = counterKey(prefix, show, epoch, act);
    const want = recorded.get(act) ?? 0;
    const raw = await s.global.get(key);
    const have = raw === null ? 0 : Number(raw);
    if (raw !== null && want > have) {
      const v = await s.global.incr(key, want - have);
      const c = s.counters.find(show, epoch, act);
      if (v !== null && c) s.counters.saw(c, v);
      raised += want - have;
      s.counts.raised += want - have;
      log.warn("live total raised to the record", { show, epoch, act, from: have, to: want });
    }
  }
  s.counts.reconcilePasses++;
  return raised;
}
