/**
 * A paced drain: instead of closing every connection at once (and sending a whole audience to the
 * other nodes in the same second), connections are closed in batches over `spreadMs`, and each is
 * told when to come back (`retryAfterMs` in its error frame).
 *
 * Guarantees:
 *  - Each connection gets a reconnect instant T drawn uniformly over [0, M) from the drain's start,
 *    M = max(spreadMs, windowMs), windowMs = clients x 1000 / reconnectRatePerSec (at least
 *    MIN_WINDOW_MS, at most MAX_WINDOW_MS). Connections are closed in the order of T, each no later
 *    than T (at T x spreadMs / M), with retryAfterMs = T - its close time (>= 0). So the audience
 *    comes back uniformly over M: at most about reconnectRatePerSec per second, and everyone is
 *    told to be back within M of the drain's start.
 *  - Every connection is closed by `spreadMs` after the start (the last batch closes whatever is
 *    left), also when timers starve: the message path pokes the pacer (`poke`), and batches run
 *    from whichever comes first.
 *  - Connections opened after the drain started are closed at once by the endpoint (retry
 *    instants drawn over the same window).
 */
import { performance } from "node:perf_hooks";

/** Time between two batches. */
export const BATCH_MS = 50;
/** The shortest return window: the client rule's own "immediate" jitter (RECONNECT_BACKOFF). */
export const MIN_WINDOW_MS = 1000;
export const MAX_WINDOW_MS = 30_000;
const POKE_EVERY = 64;

export interface DrainTarget<T> {
  /** Close one connection with the drain code, telling it to come back after `retryAfterMs`. */
  close(conn: T, retryAfterMs: number): void;
}

/** The reconnect window for `clients` at `reconnectRatePerSec` (0: not sized, MIN_WINDOW_MS). */
export function reconnectWindowMs(clients: number, reconnectRatePerSec: number): number {
  const w = reconnectRatePerSec > 0 ? (clients * 1000) / reconnectRatePerSec : 0;
  return Math.round(Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, w)));
}

export class DrainPacer<T> {
  readonly windowMs: number;
  readonly spanMs: number;
  private readonly order: Array<{ conn: T; at: number }>;
  private next = 0;
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private countdown = POKE_EVERY;
  private resolve: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(
    conns: Iterable<T>,
    private readonly spreadMs: number,
    reconnectRatePerSec: number,
    private readonly target: DrainTarget<T>,
    private readonly random: () => number = Math.random,
  ) {
    const list = [...conns];
    this.windowMs = reconnectWindowMs(list.length, reconnectRatePerSec);
    this.spanMs = Math.max(spreadMs, this.windowMs);
    this.order = list.map((conn) => ({ conn, at: this.random() * this.spanMs })).sort((a, b) => a.at - b.at);
    this.done = new Promise((r) => (this.resolve = r));
    this.step();
  }

  /** A retry instant for a connection that arrives during the drain (closed at once). */
  lateRetryMs(): number {
    return Math.floor(this.random() * this.windowMs);
  }

  /** From the message path: runs a due batch even when timers starve. */
  poke(): void {
    if (--this.countdown > 0) return;
    this.countdown = POKE_EVERY;
    if (this.resolve !== null) this.step();
  }

  private step(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const elapsed = performance.now() - this.t0;
    // Close everything whose close time (at x spread / span) has come; the last batch closes the rest.
    const last = elapsed >= this.spreadMs;
    const until = last ? Infinity : (elapsed * this.spanMs) / Math.max(1, this.spreadMs);
    while (this.next < this.order.length && this.order[this.next]!.at <= until) {
      const o = this.order[this.next++]!;
      this.target.close(o.conn, Math.max(0, Math.round(o.at - elapsed)));
    }
    if (this.next >= this.order.length) {
      this.resolve?.();
      this.resolve = null;
      return;
    }
    this.timer = setTimeout(() => this.step(), BATCH_MS);
  }
}
