/**
 * The interleaving harness's world clock: a seeded discrete-event simulator with virtual time.
 * Every timer (the store's, the show registry's, the fake backends' deliveries) is an event; events
 * due at the same virtual millisecond run in an order drawn from the seed. After each event every
 * promise continuation it caused runs to quiescence (one real macrotask turn: nothing in the system
 * under test waits on real I/O), so a run is a pure function of its plan and seed.
 */
import { Rng } from "../soak/rng.ts";
import type { StoreClock } from "../../server/store/store-clock.ts";

interface Event {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

const macrotask = (): Promise<void> => new Promise((r) => setImmediate(r));

export class Sim implements StoreClock {
  private t = 0;
  private readonly queue: Event[] = [];
  /** Events run so far (the interleaving's length). */
  steps = 0;

  constructor(readonly rng: Rng) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const e: Event = { at: this.t + Math.max(0, ms), order: this.rng.next(), fn, cancelled: false };
    // Sorted by (at, order): binary search for the insertion point.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.queue[mid]!;
      if (m.at < e.at || (m.at === e.at && m.order < e.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, e);
    return e;
  }

  clearTimer(handle: unknown): void {
    (handle as Event).cancelled = true;
  }

  /** Run every event due up to `until` (virtual ms), each to quiescence. */
  async runUntil(until: number): Promise<void> {
    await macrotask();
    for (;;) {
      const e = this.queue[0];
      if (e === undefined || e.at > until) break;
      this.queue.shift();
      if (e.cancelled) continue;
      this.t = e.at;
      this.steps++;
      e.fn();
      await macrotask();
    }
    this.t = Math.max(this.t, until);
  }
}
