/**
 * Where tallied deltas go every tick, and where global totals come from.
 * Implementations: MemoryStore (one process), AtomicStore (worker threads of one node, counters in
 * shared memory) and SharedStore (dual cache over memcached for live totals + the record).
 */

/** One act's buzzes drained from a tally since the last drain (non-zero). */
export interface Delta {
  act: string;
  delta: number;
}

/** One show epoch's share of a tick. */
export interface ShowFlush {
  show: string;
  epoch: string;
  /** Non-zero deltas drained from the tally this tick (may be empty). */
  deltas: readonly Delta[];
  /**
   * Acts whose totals the caller wants back. Empty for a retired epoch: that flush is the last one
   * this caller makes naming the epoch, so the store may drop what it keeps for it once applied.
   */
  acts: readonly string[];
}

/** act -> total, for each show epoch that asked for totals, keyed by `epochKey` (shows/epoch-key.ts). */
export type FlushResult = Map<string, Map<string, number>>;

export interface StoreHealth {
  /** False when this node should receive no new viewers (a backend it needs is down). */
  ready: boolean;
  /** Per backend: "ok", or what is wrong. */
  checks: Record<string, string>;
}

/** What a store holds and how much its last flush walked: both bounded by the live show epochs. */
export interface StoreStats {
  /** Per (show, epoch, act) entries held in memory. */
  entries: number;
  /** Entries the last flush visited. */
  walked: number;
  /** Buzzes handed over but not yet applied to the store's backend (kept, applied later). */
  retained: number;
}

export interface Store {
  /**
   * Hand over one tick's deltas and get current global totals back.
   * Ownership of the deltas passes to the store on call: it retains them across backend failures
   * until applied (a failed flush still resolves, with the best totals it knows), so the caller
   * never re-sends and no delta handed over is lost while the process lives. At most one flush is
   * in flight at a time (the tick loop guarantees it).
   */
  flush(batch: readonly ShowFlush[]): Promise<FlushResult>;
  /**
   * The same as flush, done synchronously, for stores that need no I/O this time. It returns null
   * when it cannot (nothing applied then), and the tick loop uses flush.
   * A synchronous tick publishes in the same turn as it drains, even when a flood keeps the event
   * loop from running promise callbacks promptly.
   */
  flushSync?(batch: readonly ShowFlush[]): FlushResult | null;
  /**
   * Totals in the durable record for a show epoch; null when this store keeps no durable record
   * (MemoryStore, AtomicStore, SharedStore without MYSQL_URL).
   */
  durableTotals(show: string, epoch: string): Promise<Map<string, number> | null>;
  health(): StoreHealth;
  stats(): StoreStats;
  /**
   * Voting for these acts just closed (or the act left the stage), as of show `version`. A store
   * with a record reconciles the live totals with it once every node has persisted.
   */
  votingClosed?(show: string, epoch: string, acts: readonly string[], version: number): void;
  /** Apply and persist everything retained, then release backends. Called once, on shutdown. */
  close(): Promise<void>;
}
