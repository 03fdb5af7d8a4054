/**
 * The embedded default: totals live in this process only. Exact for a single process; nothing
 * survives a restart (use MYSQL_URL for a durable record).
 */
import { showEpochKey, type FlushResult, type ShowFlush, type Store, type StoreHealth } from "./store.ts";

export class MemoryStore implements Store {
  private readonly counts = new Map<string, Map<string, number>>();

  async flush(batch: readonly ShowFlush[]): Promise<FlushResult> {
    return this.flushSync(batch);
  }

  flushSync(batch: readonly ShowFlush[]): FlushResult {
    const out: FlushResult = new Map();
    for (const f of batch) {
      const key = showEpochKey(f.show, f.epoch);
      let m = this.counts.get(key);
      if (!m) this.counts.set(key, (m = new Map()));
      for (const d of f.deltas) m.set(d.act, (m.get(d.act) ?? 0) + d.delta);
      if (f.acts.length > 0) out.set(key, new Map(f.acts.map((a) => [a, m.get(a) ?? 0])));
    }
    return out;
  }

  async durableTotals(): Promise<Map<string, number>> {
    return new Map();
  }

  health(): StoreHealth {
    return { ready: true, checks: { store: "ok" } };
  }

  async close(): Promise<void> {}
}
