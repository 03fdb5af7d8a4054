/**
 * Per (show, epoch, act) bookkeeping of one node's contribution, as cumulative amounts since this
 * process started. Invariants (all enforced by SharedStore):
 *   persisted <= batched <= cached <= arrived
 * - arrived:   buzzes handed over by the tick loop.
 * - cached:    applied to the global counter in memcached (or covered by a seed).
 * - batched:   included in the record batch in flight or committed.
 * - persisted: committed to the record.
 * Persisting only what is already cached is what makes re-seeding a lost memcached key exact:
 * whatever the record holds was in the old key, and whatever is not in the record is re-added by the
 * node that still has it in memory (arrived - persisted).
 */
export interface CounterState {
  readonly show: string;
  readonly epoch: string;
  readonly act: string;
  readonly key: string;
  arrived: number;
  cached: number;
  batched: number;
  persisted: number;
  /** Last value of the global counter this node saw (from incr, get or seed). */
  lastKnown: number;
}

export function counterKey(prefix: string, show: string, epoch: string, act: string): string {
  return `${prefix}:c:${show}:${epoch}:${act}`;
}

export class CounterTable {
  private readonly byKey = new Map<string, CounterState>();

  constructor(private readonly prefix: string) {}

  get(show: string, epoch: string, act: string): CounterState {
    const key = counterKey(this.prefix, show, epoch, act);
    let c = this.byKey.get(key);
    if (!c) {
      c = { show, epoch, act, key, arrived: 0, cached: 0, batched: 0, persisted: 0, lastKnown: 0 };
      this.byKey.set(key, c);
    }
    return c;
  }

  all(): IterableIterator<CounterState> {
    return this.byKey.values();
  }

  /** Buzzes not yet in the global counter, over every key. */
  uncached(): number {
    let n = 0;
    for (const c of this.byKey.values()) n += c.arrived - c.cached;
    return n;
  }

  /** Buzzes not yet committed to the record, over every key. */
  unpersisted(): number {
    let n = 0;
    for (const c of this.byKey.values()) n += c.arrived - c.persisted;
    return n;
  }
}
