/**
 * The store of the worker threads of one node (WORKERS > 1, no MEMCACHED_SERVERS/MYSQL_URL):
 * totals live in one SharedArrayBuffer that every worker adds to with Atomics, so all workers of
 * the node count into the same exact totals with no service at all.
 *
 * Slots (one 64-bit counter per show/epoch/act) are handed out by the supervisor (slot-table.ts)
 * and cached here per epoch. Guarantees:
 *  - Each delta is added exactly once (Atomics.add); a reader sees every add that completed before
 *    its load.
 *  - A delta handed over is never dropped: whatever cannot be added yet (the supervisor did not
 *    answer, or the table is full) is retained here, counted in the totals this worker publishes,
 *    reported by health and the retained-buzzes metric, and added on a later flush.
 *  - A retired epoch's keys (and an act removed from a live epoch) are released to the supervisor
 *    once nothing retained for them is left; this worker never touches their slots afterwards.
 *  - Nothing survives the process (no durable record: use MYSQL_URL); a worker that crashes loses
 *    only its undrained tally (at most one tick) and what it still retained.
 *  - `once` claims (decidesClaims): every flush with new or held claims sends them all to the
 *    supervisor in one message (claim-book.ts decides them for every worker of the node); a counted
 *    claim is added to its act with the flush's deltas, so the totals returned include it. A claim
 *    the supervisor did not answer is held and sent again next flush (the book answers a repeat
 *    from the same worker as it did the first time, so a lost answer neither loses nor doubles).
 */
import type { Logger } from "../ops/logger.ts";
import { epochKey } from "../shows/epoch-key.ts";
import { EpochLifecycle } from "../shows/epoch-lifecycle.ts";
import type { ClaimKey } from "./claim-book.ts";
import type { Claim, ClaimDecision, EpochTotals, FlushResult, ShowFlush, Store, StoreHealth, StoreStats, TotalsWant } from "./store.ts";

export const SLOT_BYTES = 8;

export interface SlotKey {
  show: string;
  epoch: string;
  act: string;
}

/** How a worker reaches the supervisor's slot table. */
export interface SlotClient {
  /** The key's slot, the same in every worker while any holds it; this worker now holds it. */
  slotFor(key: SlotKey): Promise<number>;
  /** This worker will not add to or read these keys again (until it asks for their slot anew). */
  release(keys: readonly SlotKey[]): void;
  /** Decide `once` claims for the whole node, in order: true = counted, false = duplicate. */
  claim(claims: readonly ClaimKey[]): Promise<boolean[]>;
  /**
   * This worker's viewers per show (sent to the supervisor when they changed, at most once per
   * call); answers the node's sums as last relayed (audience-book.ts).
   */
  audience?(local: ReadonlyMap<string, number>): ReadonlyMap<string, number>;
}

interface EpochSlots {
  readonly show: string;
  readonly epoch: string;
  /** act -> slot, for every key this worker holds. */
  readonly slots: Map<string, number>;
  /** act -> buzzes handed over and not yet added (no slot yet). */
  readonly pending: Map<string, number>;
  /** The last flush naming this epoch was seen; release everything once `pending` is empty. */
  retired: boolean;
  /** Claims not decided yet (the supervisor did not answer). */
  claims: Claim[];
}

export class AtomicStore implements Store {
  readonly decidesClaims = true;
  private readonly counters: BigInt64Array;
  private readonly epochs = new Map<string, EpochSlots>();
  /** Retires epochs here when a flush marks them `retired`; their slots go once nothing is retained. */
  private readonly lifecycle = new EpochLifecycle();
  /** Claims the supervisor answered, returned by the flush that added the counted ones. */
  private decided: ClaimDecision[] = [];
  private retained = 0;
  private walked = 0;
  private slotError: string | null = null;
  /** Slot requests that failed (timeout, table full, bad answer); exported as a metric by choose-backends. */
  slotErrors = 0;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly client: SlotClient,
    private readonly log: Logger,
  ) {
    this.counters = new BigInt64Array(buffer);
    this.lifecycle.register({
      retire: (show, epoch) => {
        const e = this.epochs.get(epochKey(show, epoch));
        if (e) e.retired = true;
      },
      holds: (show, epoch) => this.epochs.has(epochKey(show, epoch)),
    });
  }

  /** Synchronous when nothing is retained and every key named already has its slot (the usual tick). */
  flushSync(batch: readonly ShowFlush[]): FlushResult | null {
    if (this.retained > 0 || this.heldClaims > 0) return null;
    for (const f of batch) {
      if (f.claims !== undefined && f.claims.length > 0) return null;
      const e = this.epochs.get(epochKey(f.show, f.epoch));
      if (!e) {
        if (f.deltas.length > 0 || (f.retired !== true && f.acts.length > 0)) return null;
        continue;
      }
      for (const d of f.deltas) if (!e.slots.has(d.act)) return null;
      if (f.retired !== true) for (const act of f.acts) if (!e.slots.has(act)) return null;
    }
    this.take(batch);
    return this.settle(batch);
  }

  async flush(batch: readonly ShowFlush[]): Promise<FlushResult> {
    this.take(batch); // ownership first: from here on the deltas are in `pending` whatever happens
    await this.decideClaims();
    await this.resolveSlots(batch);
    return this.settle(batch);
  }

  /** Move the batch's deltas into `pending` and note which epochs retire. */
  private take(batch: readonly ShowFlush[]): void {
    for (const f of batch) {
      const key = epochKey(f.show, f.epoch);
      let e = this.epochs.get(key);
      if (!e) {
        if (f.deltas.length === 0 && f.retired === true && (f.claims?.length ?? 0) === 0) continue;
        this.epochs.set(key, (e = { show: f.show, epoch: f.epoch, slots: new Map(), pending: new Map(), retired: false, claims: [] }));
      }
      if (f.claims) for (const c of f.claims) e.claims.push(c);
      for (const d of f.deltas) e.pending.set(d.act, (e.pending.get(d.act) ?? 0) + d.delta);
      for (const d of f.deltas) this.retained += d.delta;
      if (f.retired === true) this.lifecycle.retire(f.show, f.epoch);
    }
  }

  /** Claims waiting for the supervisor. */
  private get heldClaims(): number {
    let n = 0;
    for (const e of this.epochs.values()) n += e.claims.length;
    return n;
  }

  /** One message with every held claim; counted ones join `pending` (added with the deltas). */
  private async decideClaims(): Promise<void> {
    const held: Array<[EpochSlots, Claim]> = [];
    for (const e of this.epochs.values()) for (const c of e.claims) held.push([e, c]);
    if (held.length === 0) return;
    let answers: boolean[];
    try {
      answers = await this.client.claim(held.map(([e, c]) => ({ show: e.show, epoch: e.epoch, act: c.act, viewer: c.viewer })));
    } catch (err) {
      this.slotErrors++;
      this.noteSlots(err);
      return; // held: sent again next flush
    }
    held.forEach(([e, c], i) => {
      if (answers[i] === true) {
        this.decided.push({ claim: c, outcome: "counted" });
        e.pending.set(c.act, (e.pending.get(c.act) ?? 0) + 1);
        this.retained++;
      } else this.decided.push({ claim: c, outcome: "duplicate" });
    });
    for (const e of this.epochs.values()) e.claims = [];
  }

  /** Ask for every slot still missing (retained deltas, acts asked for); failures keep the deltas. */
  private async resolveSlots(batch: readonly ShowFlush[]): Promise<void> {
    const wanted: Array<[EpochSlots, string]> = [];
    for (const e of this.epochs.values()) for (const act of e.pending.keys()) if (!e.slots.has(act)) wanted.push([e, act]);
    for (const f of batch) {
      const e = this.epochs.get(epochKey(f.show, f.epoch));
      if (e && f.retired !== true) for (const act of f.acts) if (!e.slots.has(act) && !e.pending.has(act)) wanted.push([e, act]);
    }
    let failed: unknown = null;
    await Promise.all(
      wanted.map(async ([e, act]) => {
        try {
          const s = await this.client.slotFor({ show: e.show, epoch: e.epoch, act });
          if (!(Number.isInteger(s) && s >= 0 && s < this.counters.length)) throw new RangeError(`slot ${s} outside the counter table`);
          e.slots.set(act, s);
        } catch (err) {
          this.slotErrors++;
          failed = err;
        }
      }),
    );
    this.noteSlots(failed);
  }

  /** Add what has a slot, release what is done, read totals; answer the claims decided. Synchronous. */
  private settle(batch: readonly ShowFlush[]): FlushResult {
    let walked = 0;
    if (this.retained > 0) {
      for (const e of this.epochs.values()) {
        for (const [act, n] of e.pending) {
          walked++;
          const s = e.slots.get(act);
          if (s === undefined) continue;
          Atomics.add(this.counters, s, BigInt(n));
          e.pending.delete(act);
          this.retained -= n;
        }
      }
    }
    const out: EpochTotals = new Map();
    for (const f of batch) {
      if (f.retired === true) continue;
      const key = epochKey(f.show, f.epoch);
      const e = this.epochs.get(key);
      if (!e) continue;
      walked += f.acts.length;
      out.set(key, this.totalsOf(e, f.acts));
      if (e.slots.size > f.acts.length) this.releaseRemoved(e, f.acts);
    }
    for (const [key, e] of this.epochs) {
      if (!e.retired || e.pending.size > 0 || e.claims.length > 0) continue;
      this.release(e, [...e.slots.keys()]);
      this.epochs.delete(key);
    }
    this.lifecycle.sweep();
    this.walked = walked;
    const decisions = this.decided;
    this.decided = [];
    return { totals: out, decisions };
  }

  /**
   * Phase 2: every worker's adds of this tick have landed (they flushed at the tick instant, this
   * runs the publish offset later), so a load sees them all. Synchronous, no message.
   */
  readTotals(wants: readonly TotalsWant[]): EpochTotals {
    const out: EpochTotals = new Map();
    for (const w of wants) {
      const key = epochKey(w.show, w.epoch);
      const e = this.epochs.get(key);
      if (e) out.set(key, this.totalsOf(e, w.acts));
    }
    return out;
  }

  /** The node's viewers per show, summed by the supervisor (a worker alone: its own). */
  watching(local: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    return this.client.audience?.(local) ?? local;
  }

  /** Shared counter + what this worker still retains, per act. */
  private totalsOf(e: EpochSlots, acts: readonly string[]): Map<string, number> {
    const totals = new Map<string, number>();
    for (const act of acts) {
      const s = e.slots.get(act);
      totals.set(act, (s === undefined ? 0 : Number(Atomics.load(this.counters, s))) + (e.pending.get(act) ?? 0));
    }
    return totals;
  }

  /** Acts no longer in a live epoch's show (and with nothing retained) give their slots back. */
  private releaseRemoved(e: EpochSlots, acts: readonly string[]): void {
    const live = new Set(acts);
    this.release(
      e,
      [...e.slots.keys()].filter((act) => !live.has(act) && !e.pending.has(act)),
    );
  }

  private release(e: EpochSlots, acts: readonly string[]): void {
    if (acts.length === 0) return;
    for (const act of acts) e.slots.delete(act);
    this.client.release(acts.map((act) => ({ show: e.show, epoch: e.epoch, act })));
  }

  private noteSlots(err: unknown): void {
    if (err === null) {
      if (this.slotError !== null) this.log.info("counter slots available again; retained buzzes added");
      this.slotError = null;
      return;
    }
    const msg = err instanceof Error ? err.message : JSON.stringify(err);
    if (this.slotError === null) this.log.error("no counter slot; buzzes retained in memory", { err, retained: this.retained });
    this.slotError = msg;
  }

  async durableTotals(): Promise<null> {
    return null;
  }

  health(): StoreHealth {
    if (this.slotError === null) return { ready: true, checks: { store: "ok" } };
    return { ready: false, checks: { store: `retaining ${this.retained} buzzes: ${this.slotError}` } };
  }

  stats(): StoreStats {
    let entries = 0;
    for (const e of this.epochs.values()) entries += e.slots.size + e.pending.size;
    return { entries, walked: this.walked, retained: this.retained };
  }

  /**
   * Add what is retained (one more round of slot requests), then release every key this worker
   * holds. Buzzes still without a slot after that are lost with the process; the log says how many.
   */
  async close(): Promise<void> {
    if (this.retained > 0) {
      await this.resolveSlots([]);
      this.settle([]);
    }
    if (this.retained > 0) this.log.error("closing with buzzes that never got a counter slot", { lost: this.retained });
    for (const e of this.epochs.values()) this.release(e, [...e.slots.keys()]);
    this.epochs.clear();
  }
}
