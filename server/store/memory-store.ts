/**
 * Totals of one process only (WORKERS=1 without MEMCACHED_SERVERS/MYSQL_URL). Exact for a single
 * process; nothing survives a restart and there is no durable record (durableTotals is null).
 * A retired epoch's totals are dropped once its last deltas are applied: memory is bounded by the
 * live show epochs.
 */
import { epochKey } from "../shows/epoch-key.ts";
import { EpochLifecycle } from "../shows/epoch-lifecycle.ts";
import {
  NO_DECISIONS,
  type EpochTotals,
  type FlushResult,
  type ShowFlush,
  type Store,
  type StoreHealth,
  type StoreStats,
  type TotalsWant,
} from "./store.ts";

export class MemoryStore implements Store {
  private readonly counts = new Map<string, Map<string, number>>();
  private walked = 0;
  /** A retired epoch's totals are dropped at once: nothing will read them again. */
  private readonly lifecycle = new EpochLifecycle();

  constructor() {
    this.lifecycle.register({ retire: (show, epoch) => this.counts.delete(epochKey(show, epoch)) });
  }

  async flush(batch: readonly ShowFlush[]): Promise<FlushResult> {
    return this.flushSync(batch);
  }

  /** Never null: applying a delta is a map write. */
  flushSync(batch: readonly ShowFlush[]): FlushResult {
    const out: EpochTotals = new Map();
    let walked = 0;
    for (const f of batch) {
      const key = epochKey(f.show, f.epoch);
      if (f.retired === true) {
        // Retired: nothing will read it again, so its deltas have nowhere to go.
        this.lifecycle.retire(f.show, f.epoch);
        continue;
      }
      let m = this.counts.get(key);
      if (!m) this.counts.set(key, (m = new Map<string, number>()));
      for (const d of f.deltas) m.set(d.act, (m.get(d.act) ?? 0) + d.delta);
      out.set(key, new Map(f.acts.map((a) => [a, m.get(a) ?? 0])));
      walked += f.deltas.length + f.acts.length;
    }
    this.walked = walked;
    return { totals: out, decisions: NO_DECISIONS };
  }

  /** The totals as applied (one process: what flush answered, plus nothing else). */
  readTotals(wants: readonly TotalsWant[]): EpochTotals {
    const out: EpochTotals = new Map();
    for (const w of wants) {
      const key = epochKey(w.show, w.epoch);
      const m = this.counts.get(key);
      out.set(key, new Map(w.acts.map((a) => [a, m?.get(a) ?? 0])));
    }
    return out;
  }

  async durableTotals(): Promise<null> {
    return null;
  }

  health(): StoreHealth {
    return { ready: true, checks: { store: "ok" } };
  }

  stats(): StoreStats {
    let entries = 0;
    for (const m of this.counts.values()) entries += m.size;
    return { entries, walked: this.walked, retained: 0 };
  }

  /** Everything is applied on flush; nothing to persist or release. */
  async close(): Promise<void> {}
}
