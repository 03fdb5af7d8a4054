/**
 * When every counting unit's flush of a tick has landed, so that phase 2 (read the totals,
 * publish) can start at once instead of after the whole PUBLISH_OFFSET_MS (counting/tick-loop.ts).
 *
 * Implementations: the supervisor's tally of its worker threads (cluster/flush-relay.ts) and
 * per-tick flushed marks by unit id in memcached for nodes and shared-mode workers
 * (shared-flush-quorum.ts). A single process has none: it reads its own flush.
 *
 * Contract:
 *  - `landed(tick, deadlineMs)` is called once per tick by each unit, after its flush of that tick
 *    is in the store (every delta the unit drained for the tick is readable by every unit). A unit
 *    that skipped a tick (a flush still in flight) does not call it for that tick.
 *  - It resolves true only when every unit the quorum counts as live has called it for `tick`; a
 *    read that starts after that sees every one of their deltas of the tick.
 *  - It resolves false when it stops waiting: at `deadlineMs` (ms since the Unix epoch, the instant
 *    phase 2 runs anyway), when a later tick landed, or when the backend failed (counted, logged).
 *  - Whom it counts as live may lag a change of the fleet by a moment: a unit it does not count yet
 *    has its deltas in the next tick's frames (one tick late, never lost or doubled: the totals
 *    are read from the store); a unit it still counts after it died or stalled only makes phase 2
 *    wait for its deadline.
 */
export interface FlushQuorum {
  landed(tick: number, deadlineMs: number): Promise<boolean>;
}
