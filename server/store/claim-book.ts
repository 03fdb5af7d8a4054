/**
 * Supervisor side of `once` across the worker threads of one embedded node: who has counted, per
 * show epoch, act and viewer. Workers send their new claims once per tick in one message; the
 * supervisor answers each (counted or duplicate), one message at a time, so two workers claiming
 * the same viewer at the same instant get one `counted` between them.
 *
 * Memory: the viewers of each show's current epoch only. A reset drops the old epoch's viewers
 * (the supervisor's epoch lifecycle retires it here);
 * a claim for an epoch that is not the show's current one is answered `duplicate` (embedded mode
 * keeps no total of a retired epoch: its counts go nowhere, so refusing loses nothing visible).
 * A worker never claims a viewer twice for one act (its own policy remembers), so a repeated claim
 * from the same holder is a retry after a lost answer: it is answered `counted` again, never
 * counted twice (the worker counts a claim only when it gets the answer).
 * The book outlives worker crashes (it lives in the supervisor): a viewer whose worker died and
 * who reconnects to another worker is still a duplicate.
 */
import { fleetViewer } from "./store.ts";

export interface ClaimKey {
  show: string;
  epoch: string;
  act: string;
  viewer: string;
}

export class ClaimBook {
  /** show -> its current epoch and, per act, the viewers counted. */
  private readonly byShow = new Map<string, { epoch: string; acts: Map<string, Map<string, number>> }>();
  readonly stats = { counted: 0, duplicates: 0 };

  /** `isLive(show, epoch)`: whether `epoch` is the show's current epoch. */
  constructor(private readonly isLive: (show: string, epoch: string) => boolean) {}

  /** `holder`: the worker thread asking (the slot table's holder id). */
  decide(holder: number, claims: readonly ClaimKey[]): boolean[] {
    return claims.map((c) => {
      const ok = this.claim(holder, c);
      if (ok) this.stats.counted++;
      else this.stats.duplicates++;
      return ok;
    });
  }

  private claim(holder: number, c: ClaimKey): boolean {
    if (!this.isLive(c.show, c.epoch)) return false;
    let s = this.byShow.get(c.show);
    if (s?.epoch !== c.epoch) this.byShow.set(c.show, (s = { epoch: c.epoch, acts: new Map() }));
    let viewers = s.acts.get(c.act);
    if (!viewers) s.acts.set(c.act, (viewers = new Map<string, number>()));
    // Per-connection keys are numbered per thread: qualified with the holder (a restarted thread is a new one).
    const viewer = fleetViewer(c.viewer, `w${holder}`);
    const by = viewers.get(viewer);
    if (by !== undefined) return by === holder;
    viewers.set(viewer, holder);
    return true;
  }

  /** The show's epoch retired (an EpochHolder): forget its viewers. */
  retire(show: string, epoch: string): void {
    if (this.byShow.get(show)?.epoch === epoch) this.byShow.delete(show);
  }

  /** Viewers remembered (a metric; bounded by the current epochs). */
  get size(): number {
    let n = 0;
    for (const s of this.byShow.values()) for (const v of s.acts.values()) n += v.size;
    return n;
  }
}
