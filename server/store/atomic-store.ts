/**
 * The embedded default when a node runs several worker threads: totals live in one
 * SharedArrayBuffer that every worker adds to with Atomics, so all workers of the node count into
 * the same exact totals with no service at all.
 *
 * Slots (one 64-bit counter per show/epoch/act) are assigned by the supervisor, once per key,
 * and cached here. Guarantees: each delta is added exactly once (Atomics.add); a reader sees every
 * add that completed before its load. Nothing survives the process (use MYSQL_URL for a record);
 * a worker that crashes loses only its undrained tally (at most one tick).
 */
import type { FlushResult, ShowFlush, Store, StoreHealth } from "./store.ts";
import { showEpochKey } from "./store.ts";

export const SLOT_BYTES = 8;

function slotKey(show: string, epoch: string, act: string): string {
  return `${show}\u0000${epoch}\u0000${act}`;
}

export class AtomicStore implements Store {
  private readonly counters: BigInt64Array;
  private readonly slots = new Map<string, number>();

  /** `slotFor` asks the supervisor for the slot of a key (the same answer in every worker). */
  constructor(buffer: SharedArrayBuffer, private readonly slotFor: (key: string) => Promise<number>) {
    this.counters = new BigInt64Array(buffer);
  }

  private async slot(show: string, epoch: string, act: string): Promise<number> {
    const key = slotKey(show, epoch, act);
    let s = this.slots.get(key);
    if (s === undefined) {
      s = await this.slotFor(key);
      if (!(s >= 0 && s < this.counters.length)) throw new RangeError(`slot ${s} outside the counter table`);
      this.slots.set(key, s);
    }
    return s;
  }

  /** Synchronous when every key already has its slot (always, after a key's first tick). */
  flushSync(batch: readonly ShowFlush[]): FlushResult | null {
    for (const f of batch) {
      for (const d of f.deltas) if (!this.slots.has(slotKey(f.show, f.epoch, d.act))) return null;
      for (const act of f.acts) if (!this.slots.has(slotKey(f.show, f.epoch, act))) return null;
    }
    const at = (show: string, epoch: string, act: string): number => this.slots.get(slotKey(show, epoch, act)) ?? -1;
    const out: FlushResult = new Map();
    for (const f of batch) for (const d of f.deltas) Atomics.add(this.counters, at(f.show, f.epoch, d.act), BigInt(d.delta));
    for (const f of batch) {
      if (f.acts.length === 0) continue;
      out.set(showEpochKey(f.show, f.epoch), new Map(f.acts.map((act) => [act, Number(Atomics.load(this.counters, at(f.show, f.epoch, act)))])));
    }
    return out;
  }

  async flush(batch: readonly ShowFlush[]): Promise<FlushResult> {
    const out: FlushResult = new Map();
    for (const f of batch) {
      for (const d of f.deltas) Atomics.add(this.counters, await this.slot(f.show, f.epoch, d.act), BigInt(d.delta));
    }
    for (const f of batch) {
      if (f.acts.length === 0) continue;
      const totals = new Map<string, number>();
      for (const act of f.acts) totals.set(act, Number(Atomics.load(this.counters, await this.slot(f.show, f.epoch, act))));
      out.set(showEpochKey(f.show, f.epoch), totals);
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

/** Supervisor side: hands out slots, one per key, for the life of the process. */
export class SlotAllocator {
  private readonly slots = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  slotFor(key: string): number {
    let s = this.slots.get(key);
    if (s === undefined) {
      if (this.slots.size >= this.capacity) throw new RangeError(`counter table full (${this.capacity} show/epoch/act keys)`);
      s = this.slots.size;
      this.slots.set(key, s);
    }
    return s;
  }
}
