/**
 * SharedStore's publish phase (two-phase ticks, docs/architecture.md): one pipelined read of every
 * live counter straight from memcached (not the L1: the other nodes' increments of this tick must be
 * seen), after every node's flush of the tick.
 *
 * Guarantees: a counter's `lastKnown` only rises (max with what was read); a missing key is left to
 * the next flush, which reads it in phase 1 and re-seeds it; on a cache error the best known totals
 * are answered (last known + this node's not yet cached) and the error goes to `onError`.
 */
import type { Cache } from "../cache/cache.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { CounterState, CounterTable } from "./counter-state.ts";
import type { EpochTotals, TotalsWant } from "./store.ts";

export class SharedRead {
  /** Counters whose key the last read found: the flush need not read them again. */
  readonly fresh = new WeakSet<CounterState>();
  /** Keys read (metrics). */
  reads = 0;

  constructor(
    private readonly global: Cache,
    private readonly counters: CounterTable,
    private readonly onError: (err: unknown) => void,
  ) {}

  async totals(wants: readonly TotalsWant[]): Promise<EpochTotals> {
    const cs: CounterState[] = [];
    for (const w of wants) for (const act of w.acts) cs.push(this.counters.get(w.show, w.epoch, act));
    if (cs.length > 0) {
      try {
        const got = await this.global.getMany(cs.map((c) => c.key));
        this.reads += cs.length;
        for (const c of cs) {
          const raw = got.get(c.key);
          if (raw === undefined) this.fresh.delete(c);
          else {
            this.counters.saw(c, Number(raw));
            this.fresh.add(c);
          }
        }
      } catch (err) {
        this.onError(err);
      }
    }
    const out: EpochTotals = new Map();
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
