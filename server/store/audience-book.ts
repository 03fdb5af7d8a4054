/**
 * The audience of an embedded multi-worker node: how many viewers each show has,
 * summed over the worker threads through the supervisor. No per-connection work: a worker reports
 * its per-show counts at most once per tick and only when they changed; the supervisor keeps the
 * latest report of each live worker and relays the sums when they change.
 *
 * Guarantees: the sums count each live worker's latest report exactly once; a worker that dies
 * is dropped (its viewers were disconnected with it); a worker that starts reports on its first
 * tick. Until a worker hears the first sums it answers its own counts.
 */

/** Supervisor side: one entry per live worker (holder id). */
export class AudienceBook {
  private readonly byHolder = new Map<number, ReadonlyMap<string, number>>();

  /** A worker's latest counts; true when the sums changed (relay them). */
  report(holder: number, counts: ReadonlyArray<readonly [string, number]>): boolean {
    const before = this.sumsKey();
    this.byHolder.set(holder, new Map(counts));
    return this.sumsKey() !== before;
  }

  /** A worker is gone; true when the sums changed. */
  drop(holder: number): boolean {
    const before = this.sumsKey();
    this.byHolder.delete(holder);
    return this.sumsKey() !== before;
  }

  /** Viewers per show over every live worker. */
  sums(): Array<[string, number]> {
    const total = new Map<string, number>();
    for (const m of this.byHolder.values()) for (const [show, n] of m) total.set(show, (total.get(show) ?? 0) + n);
    return [...total];
  }

  private sumsKey(): string {
    return JSON.stringify(this.sums().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }
}

/** Worker side: sends this worker's counts when they change, answers the last relayed sums. */
export class AudienceRelay {
  private sent = "";
  private relayed: Map<string, number> | null = null;

  constructor(private readonly post: (counts: Array<[string, number]>) => void) {}

  /** Once per tick: this worker's counts; returns the node's sums as last relayed. */
  local(counts: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    const entries = [...counts];
    const key = JSON.stringify(entries);
    if (key !== this.sent) {
      this.sent = key;
      this.post(entries);
    }
    return this.relayed ?? counts;
  }

  /** The supervisor relayed new sums. */
  receive(sums: ReadonlyArray<readonly [string, number]>): void {
    this.relayed = new Map(sums);
  }
}
