/**
 * Supervisor side of AtomicStore: which 64-bit counter of the node's SharedArrayBuffer holds which
 * (show, epoch, act) key, and who may still add to it.
 *
 * Guarantees:
 *  - While any worker holds a key (asked for its slot and has neither released it nor died), the
 *    key keeps its slot and no other key gets that slot: a slot is never reused under a writer.
 *  - A slot is freed when its last holder releases it or dies. Its value is then kept ("parked")
 *    if the key's epoch is the show's current one (an act removed from the show, or a worker that
 *    died before the others asked), and restored when the key is asked for again in that epoch.
 *    A retired epoch's value is dropped: nothing reads it any more (no durable record here).
 *  - Memory and slots are bounded by the keys of the live show epochs, not by history.
 * Everything here runs on the supervisor thread, one message at a time.
 */
import type { SlotKey } from "./atomic-store.ts";

interface Entry {
  readonly key: SlotKey;
  readonly slot: number;
  readonly holders: Set<number>;
}

export class CounterTableFullError extends RangeError {
  readonly code = "counter_table_full";
}

export class SlotTable {
  private readonly byKey = new Map<string, Entry>();
  private readonly byHolder = new Map<number, Set<string>>();
  private readonly free: number[] = [];
  private next = 0;
  /** show -> its current epoch's values of freed slots. */
  private readonly parked = new Map<string, { epoch: string; values: Map<string, bigint> }>();
  readonly stats = { allocated: 0, freed: 0, full: 0 };

  /** `isLive(show, epoch)`: whether `epoch` is the show's current epoch. */
  constructor(
    private readonly counters: BigInt64Array,
    private readonly isLive: (show: string, epoch: string) => boolean,
  ) {}

  get used(): number {
    return this.byKey.size;
  }

  /** The slot of `key`; `holder` (one per worker thread, never reused) now holds it. */
  slotFor(holder: number, key: SlotKey): number {
    const k = slotKey(key);
    let e = this.byKey.get(k);
    if (!e) {
      const slot = this.free.pop() ?? (this.next < this.counters.length ? this.next++ : -1);
      if (slot < 0) {
        this.stats.full++;
        throw new CounterTableFullError(`counter table full (${this.counters.length} live show/epoch/act keys)`);
      }
      const park = this.parked.get(key.show);
      const value = park?.epoch === key.epoch ? park.values.get(key.act) : undefined;
      if (value !== undefined) park?.values.delete(key.act);
      Atomics.store(this.counters, slot, value ?? 0n);
      e = { key, slot, holders: new Set() };
      this.byKey.set(k, e);
      this.stats.allocated++;
    }
    e.holders.add(holder);
    let mine = this.byHolder.get(holder);
    if (!mine) this.byHolder.set(holder, (mine = new Set()));
    mine.add(k);
    return e.slot;
  }

  /** `holder` will not add to these keys again (until it asks for their slot anew). */
  release(holder: number, keys: readonly SlotKey[]): void {
    const mine = this.byHolder.get(holder);
    for (const key of keys) {
      const k = slotKey(key);
      mine?.delete(k);
      this.unhold(holder, k);
    }
    if (mine?.size === 0) this.byHolder.delete(holder);
  }

  /** The holder's thread is gone: every add it made has landed, it will make no more. */
  dropHolder(holder: number): void {
    const mine = this.byHolder.get(holder);
    if (!mine) return;
    this.byHolder.delete(holder);
    for (const k of mine) this.unhold(holder, k);
  }

  /** The show's epoch retired (an EpochHolder): values parked for it can never be asked for again. */
  retire(show: string, epoch: string): void {
    if (this.parked.get(show)?.epoch === epoch) this.parked.delete(show);
  }

  private unhold(holder: number, k: string): void {
    const e = this.byKey.get(k);
    if (!e || !e.holders.delete(holder) || e.holders.size > 0) return;
    this.byKey.delete(k);
    const value = Atomics.load(this.counters, e.slot);
    const { show, epoch, act } = e.key;
    if (value !== 0n && this.isLive(show, epoch)) {
      let park = this.parked.get(show);
      if (park?.epoch !== epoch) this.parked.set(show, (park = { epoch, values: new Map() }));
      park.values.set(act, value);
    }
    Atomics.store(this.counters, e.slot, 0n);
    this.free.push(e.slot);
    this.stats.freed++;
  }
}

function slotKey(k: SlotKey): string {
  return `${k.show}\u0000${k.epoch}\u0000${k.act}`;
}
