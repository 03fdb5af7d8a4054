/**
 * Where tallied deltas go every tick, and where global totals come from.
 * Implementations: MemoryStore (one process), AtomicStore (worker threads of one node, counters in
 * shared memory) and SharedStore (dual cache over memcached for live totals + the record).
 */

/** One act's buzzes drained from a tally since the last drain (non-zero). */
export interface Delta {
  act: string;
  delta: number;
  /**
   * Per viewer key, how many of `delta` each viewer cast (the `unlimited` audit log; only when the
   * store's `auditsViewers` is true). Sums to `delta`.
   */
  viewers?: ReadonlyMap<string, number>;
}

/** Per-connection viewer keys (`c<n>`, transport's key for a connection without a viewer id). */
const CONNECTION_KEY = /^c\d+$/;

/**
 * The viewer a claim is about, unique across processes: a per-connection key is numbered per
 * process, so it is qualified with `process` (unique per process lifetime); a viewer id is as is.
 */
export function fleetViewer(viewer: string, process: string): string {
  return CONNECTION_KEY.test(viewer) ? `${process}/${viewer}` : viewer;
}

/**
 * A `once` claim: the first buzz this process saw of a viewer for an act in a show epoch, which the
 * store decides for the whole fleet (only stores with `decidesClaims`). The claim itself never
 * changes: the store answers it with a ClaimDecision in the result of a flush, exactly once.
 */
export interface Claim {
  readonly act: string;
  readonly viewer: string;
  /** When the buzz arrived (ms since the Unix epoch): the audit row's time. */
  readonly atMs: number;
}

export type ClaimOutcome = "counted" | "duplicate";

/**
 * The store's answer to a claim (the same object it was handed). Each claim handed over is answered
 * exactly once, by one flush, and a `counted` one is in the act's totals that flush returns (so acks
 * and live totals agree). A claim the store cannot decide yet (backend down) is retained, like
 * deltas, and answered by a later flush; one decided between flushes (by the record, in the
 * background) is answered by the next flush.
 */
export interface ClaimDecision {
  readonly claim: Claim;
  readonly outcome: ClaimOutcome;
}

/** Stores that decide no claims answer this. */
export const NO_DECISIONS: readonly ClaimDecision[] = Object.freeze([]);

/**
 * One show epoch's share of a tick: a live epoch's (`acts`: the totals wanted back) or a retired
 * one's (`retired`: no totals). Which one is said by `retired`, never by an empty act list: a live
 * epoch whose show has no acts is live.
 */
export type ShowFlush = LiveShowFlush | RetiredShowFlush;

interface ShowFlushShare {
  show: string;
  epoch: string;
  /** Non-zero deltas drained from the tally this tick (may be empty). */
  deltas: readonly Delta[];
  /** New `once` claims of this show epoch (stores with `decidesClaims` only). */
  claims?: readonly Claim[];
}

/** A live epoch's share: its totals come back for `acts`. */
export interface LiveShowFlush extends ShowFlushShare {
  /** Acts whose totals the caller wants back (the acts of the show's current definition). */
  acts: readonly string[];
  retired?: false;
}

/**
 * A retired epoch's share (a reset replaced it): this flush is the last one this caller makes naming
 * it, so the store may drop what it keeps for it once applied, and returns no totals for it.
 */
export interface RetiredShowFlush extends ShowFlushShare {
  retired: true;
}

/** A show epoch whose totals the publish phase reads (acts of the show's current definition). */
export type TotalsWant = Pick<LiveShowFlush, "show" | "epoch" | "acts">;

/** act -> total, for each show epoch that asked for totals, keyed by `epochKey` (shows/epoch-key.ts). */
export type EpochTotals = Map<string, Map<string, number>>;

/** What a flush answers: the totals, and the claims it decided (each claim answered once, ever). */
export interface FlushResult {
  totals: EpochTotals;
  decisions: readonly ClaimDecision[];
}

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
   * True when several processes count into this store (worker threads, nodes): `once` must hand the
   * first buzz of each viewer and act over as a Claim, and only the store's decision counts it.
   */
  readonly decidesClaims?: boolean;
  /** True when the store keeps an audit log of `unlimited` buzzes: deltas carry `viewers`. */
  readonly auditsViewers?: boolean;
  /**
   * Hand over one tick's deltas and claims, and get current global totals back with the claims
   * decided since the last flush (the store never writes into a Claim: the answer is the result).
   * Ownership of the deltas passes to the store on call: it retains them across backend failures
   * until applied (a failed flush still resolves, with the best totals it knows), so the caller
   * never re-sends and no delta handed over is lost while the process lives. At most one flush is
   * in flight at a time (the tick loop guarantees it).
   */
  flush(batch: readonly ShowFlush[]): Promise<FlushResult>;
  /**
   * Make a tick's deltas durable, synchronously, before their acks go out: the tick loop calls it
   * with the batch it just drained, then sends the acks, then calls flush with the same batch.
   * Throws when it cannot (the node then stops: no ack of them leaves). Absent: the store keeps
   * nothing across a crash of the process (see its own comment), or journals in flush.
   */
  journal?(batch: readonly ShowFlush[]): void;
  /**
   * The same as flush, done synchronously, for stores that need no I/O this time. It returns null
   * when it cannot (nothing applied then), and the tick loop uses flush.
   * A synchronous tick publishes in the same turn as it drains, even when a flood keeps the event
   * loop from running promise callbacks promptly.
   */
  flushSync?(batch: readonly ShowFlush[]): FlushResult | null;
  /**
   * Two-phase ticks, phase 2: the global totals of these show epochs as they are now, read a fixed
   * offset after every unit's phase-1 flush of the same aligned tick, so they include every
   * unit's deltas of that tick (not only this unit's, as flush's answer may). Synchronous when no
   * I/O is needed. Never rejects: on a backend error it answers the best totals it knows (never
   * lower than what it answered before). Without it, the tick publishes what flush returned.
   */
  readTotals?(wants: readonly TotalsWant[]): EpochTotals | Promise<EpochTotals>;
  /**
   * Audience, once per tick in phase 1: `local` is this unit's viewers per show id (connections
   * that said hello to it). Returns the fleet-wide sums as last known, without waiting (the sum
   * is shared in the background, no per-connection work); a show missing from the answer has not
   * been summed yet. A store without it is a fleet of one: the local counts are the fleet's.
   */
  watching?(local: ReadonlyMap<string, number>, nowMs: number): ReadonlyMap<string, number>;
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
  /** Voting for these acts (re)opened, as of show `version`: a reconciliation of an earlier close ends. */
  votingOpened?(show: string, epoch: string, acts: readonly string[], version: number): void;
  /** Apply and persist everything retained, then release backends. Called once, on shutdown. */
  close(): Promise<void>;
}
