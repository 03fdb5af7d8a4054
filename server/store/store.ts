/**
 * Where tallied deltas go every tick, and where global totals come from.
 * Implementations: MemoryStore (one process, the embedded default) and SharedStore (dual cache
 * over memcached for live totals + the MySQL record for durability).
 */
import type { Delta } from "../counting/tally.ts";

/** One show epoch's share of a tick. */
export interface ShowFlush {
  show: string;
  epoch: string;
  /** Non-zero deltas drained from the tally this tick (may be empty). */
  deltas: readonly Delta[];
  /** Acts whose totals the caller wants back; empty for a retired epoch (flush only). */
  acts: readonly string[];
}

/** act -> total, for each show epoch that asked for totals, keyed by `showEpochKey`. */
export type FlushResult = Map<string, Map<string, number>>;

export function showEpochKey(show: string, epoch: string): string {
  return `${show}/${epoch}`;
}

export interface StoreHealth {
  /** False when this node should receive no new viewers (a backend it needs is down). */
  ready: boolean;
  /** Per backend: "ok", or what is wrong. */
  checks: Record<string, string>;
}

export interface Store {
  /**
   * Hand over one tick's deltas and get current global totals back.
   * Ownership of the deltas passes to the store on call: it retains them across backend failures
   * until applied (a failed flush still resolves, with the best totals it knows), so the caller
   * never re-sends. At most one flush is in flight at a time (the tick loop guarantees it).
   */
  flush(batch: readonly ShowFlush[]): Promise<FlushResult>;
  /**
   * The same as flush, done synchronously, for stores that need no I/O (in-process memory). It may
   * return null when it cannot this time (nothing applied then), and the tick loop uses flush.
   * A synchronous tick publishes in the same turn as it drains, even when a flood keeps the event
   * loop from running promise callbacks promptly.
   */
  flushSync?(batch: readonly ShowFlush[]): FlushResult | null;
  /** Totals in the durable record for a show epoch (empty map when the store keeps no record). */
  durableTotals(show: string, epoch: string): Promise<Map<string, number>>;
  health(): StoreHealth;
  /**
   * Voting for these acts just closed (or the act left the stage), as of show `version`. A store
   * with a record reconciles the live totals with it once every node has persisted.
   */
  votingClosed?(show: string, epoch: string, acts: readonly string[], version: number): void;
  /** Apply and persist everything retained, then release backends. Called once, on shutdown. */
  close(): Promise<void>;
}
