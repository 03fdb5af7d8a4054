/**
 * SharedStore's publish phase (two-phase ticks, docs/architecture.md): one pipelined read of every
 * live counter straight from memcached (not the L1: the other nodes' increments of this tick must be
 * seen), after every node's flush of the tick.
 *
 * Guarantees: a counter's `lastKnown` only rises (max with what was read); a missing key is left to
 * the next flush, which reads it in phase 1 and re-seeds it; on a cache error the best known totals
 * are answered (last known + this node's not yet cached) and the error goes to `onError`.
 * Each counter's generation key is read with it, just before it in the same pipeline, after this
 * node's flush (every `incr` of it resolved): a label other than the one the node holds means the
 * key was re-created under it, and its buzzes the lost key took are re-added by the next flush
 * (counter-state.ts).
 */
import type { Cache } from "../cache/cache.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { CounterState, CounterTable } from "./counter-state.ts";
import type { FlushResult, TotalsWant } from "./store.ts";

export class SharedRead {
  /** Counters whose key the last read found: the flush need not read them again. */
  readonly fresh = new WeakSet<CounterState>();
  /** Keys read (metrics). */
  reads = 0;
  /** Buzzes found missing from a re-created key and queued to be re-added (metrics). */
  readded = 0;

  constructor(
    private readonly global: Cache,
    private readonly counters: CounterTable,
    private readonly onError: (err: unknown) => void,
  ) {}

  async totals(wants: readonly TotalsWant[]): Promise<FlushResult> {
    const cs: CounterState[] = [];
    for (const w of wants) for (const act of w.acts) cs.push(this.counters.get(w.show, w.epoch, act));
    if (cs.length > 0) {
      try {
        const snapshots = cs.map((c) => this.counters.snapshot(c));
        const got = await this.global.getMany(cs.flatMap((c) => [c.genKey, c.key]));
        this.reads += cs.length;
        cs.forEach((c, i) => {
          const raw = got.get(c.key);
          const snapshot = snapshots[i] ?? 0;
          this.readded += this.counters.observed(c, { present: raw !== undefined, label: got.get(c.genKey), snapshot });
          if (raw === undefined) this.fresh.delete(c);
          else {
            this.counters.saw(c, Number(raw));
            this.fresh.add(c);
          }
        });
      } catch (err) {
        this.onError(err);
      }
    }
    const out: FlushResult = new Map();
    for (const w of wants) {
      const totals = new Map<string, number>();
      for (const act of w.acts) {
        const c = this.counters.get(w.show, w.epoch, act);
        totals.set(act, c.lastKnown + (c.arrived - c.cached));
      }
      out.set(epochKey(w.show, w.epoch), totals);
    }
    return out;
  }
}
