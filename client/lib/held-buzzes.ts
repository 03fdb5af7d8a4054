/**
 * Buzzes held while the client is not live. Bounded in count (by the caller) and in time: each one
 * settles "not_sent" when its timeout passes before it could be sent. `take()` hands them all back
 * in the order they were pressed, with their timers cleared.
 */
import type { BuzzOutcome } from "./client-types.ts";

export interface Pending {
  act: string;
  resolve: (o: BuzzOutcome) => void;
  expiry?: ReturnType<typeof setTimeout> | undefined;
  /** Connections this buzz was sent on (resends after a lost connection count too). */
  sends?: number;
  /** Epoch of the show when this buzz was last sent (a resend is only safe within it). */
  sentEpoch?: string | undefined;
}

export class HeldBuzzes {
  #items: Pending[] = [];

  constructor(
    private readonly timeoutMs: number,
    private readonly settle: (p: Pending, outcome: BuzzOutcome) => void,
  ) {}

  get size(): number {
    return this.#items.length;
  }

  /** Holds `items` ahead of everything already held (a resend of buzzes pressed earlier). */
  holdFirst(items: readonly Pending[]): void {
    for (const p of items) this.#arm(p);
    this.#items = [...items, ...this.#items];
  }

  hold(p: Pending): void {
    this.#arm(p);
    this.#items.push(p);
  }

  take(): Pending[] {
    const items = this.#items;
    this.#items = [];
    for (const p of items) clearTimeout(p.expiry);
    return items;
  }

  /** Settles everything held as "not_sent". */
  failAll(): void {
    for (const p of this.take()) this.settle(p, "not_sent");
  }

  #arm(p: Pending): void {
    clearTimeout(p.expiry);
    p.expiry = setTimeout(() => {
      const i = this.#items.indexOf(p);
      if (i >= 0) this.#items.splice(i, 1);
      this.settle(p, "not_sent");
    }, this.timeoutMs);
  }
}
