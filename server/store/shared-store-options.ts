/**
 * The shared store's options, and its waits and lifetimes, all derived from TICK_MS and
 * PERSIST_INTERVAL_MS (or fixed): how long a timed-out write stays in doubt, how long a close waits
 * before reconciling, how long a claim waits for another node's sentinel, how long claim keys live.
 */
import type { PublicRecordReads } from "../record/record.ts";
import type { Journal } from "./journal.ts";
import type { StoreClock } from "./store-clock.ts";

export interface SharedStoreOptions {
  nodeId: string;
  /** TICK_MS, the base tick period (every timing below that is a number of ticks follows it). */
  tickMs: number;
  persistIntervalMs: number;
  /** Override of sharedTimings' reconcile delay (tests: 0). */
  reconcileDelayMs?: number;
  /** Whether `record` outlives the process (MySQL); false over MemoryRecord (durableTotals is null). */
  durable: boolean;
  /** Where durableTotals (a public read) is answered from: MySQL's public pool; default `record`. */
  publicReads?: Pick<PublicRecordReads, "countTotals">;
  keyPrefix?: string;
  /**
   * How long a write that timed out stays in doubt (may still land): not persisted, not re-seeded
   * (counter-state.ts). Default DOUBT_MS.
   */
  doubtMs?: number;
  /** Time and timers (persist interval, reconciliation passes, claim waits, doubts); a test injects a virtual one. */
  clock?: StoreClock;
  /** Only the clock's time (ms since the Unix epoch), when a test drives just that. Default: the clock's. */
  now?: () => number;
  /** This process's lease on `nodeId` (record/node-lease.ts), given up in `close` after the last commit. */
  lease?: { release(): Promise<void> };
  /** Where counted buzzes are made durable before their acks (absent: no journal). Opened by start(). */
  journal?: () => Promise<Journal>;
  /** A journal write failed: stop before acknowledging (default: log and exit the process or worker thread). */
  fatal?: (err: unknown) => void;
}

/**
 * A write that timed out is assumed to land within this long or never: memjs drops the connection
 * of a timed-out request, so a later landing needs a link or middlebox that holds the request past
 * it (or a memcached stalled that long with the request unread, which the reconciliation's own read
 * would wait behind). Well inside the 30 s of reconciliation after a close.
 */
export const DOUBT_MS = 10_000;

/** The shared store's waits, all derived from TICK_MS and PERSIST_INTERVAL_MS. */
export interface SharedTimings {
  /**
   * After a close, before reconciling (also record-decided claims' quiet period): every node has
   * seen the close (a show poll is one tick; two for margin) and persisted (two intervals), + 500 ms.
   */
  reconcileDelayMs: number;
  /** How long to wait for another node's claim sentinel before deciding in the record: 10 ticks + 1 s. */
  claimGraceMs: number;
}

export function sharedTimings(tickMs: number, persistIntervalMs: number): SharedTimings {
  return { reconcileDelayMs: 2 * tickMs + 2 * persistIntervalMs + 500, claimGraceMs: 10 * tickMs + 1000 };
}

/** Claim and sentinel keys live a week: an epoch whose sentinel expired goes to record mode. */
export const CLAIM_TTL_SEC = 7 * 24 * 3600;
