/**
 * The `once` claims handed to the store and not yet decided, and what a decision does to the
 * buzzer that made the claim.
 *
 * Guarantees:
 *  - A decision is applied exactly once: `counted` adds to the buzzer's `counted` (and the node's
 *    counted metric), `duplicate` to its `rejected.duplicate`; `last` takes the outcome when the
 *    claim was the buzzer's latest buzz. Then `undecided` drops by one, and the ack transport holds
 *    back while it is > 0 goes out at the next tick, cumulative and never covering an undecided buzz.
 *  - Decisions come only from the store's flush results (`decided`), never from the claim itself;
 *    the store counted a `counted` claim into the totals of the flush that returned it, and
 *    `settle` runs after that flush: an ack never says counted before the live total includes it.
 *  - Claims of a closed connection are still decided and counted; nobody is acked.
 * Memory: one entry per undecided claim (distinct viewers per act awaiting a decision).
 */
import { performance } from "node:perf_hooks";
import type { Metrics } from "../ops/metrics.ts";
import type { Claim, ClaimDecision, ClaimOutcome } from "../store/store.ts";
import type { ClaimTicket } from "./tally.ts";

interface Outstanding {
  readonly ticket: ClaimTicket;
  /** performance.now() when the claim was handed to the store (decision latency). */
  readonly since: number;
  /** The store's answer, once a flush returned it; applied by the next settle. */
  outcome: ClaimOutcome | null;
}

export class ClaimBoard {
  /** Claims handed to the store and not applied yet, in the order they were handed over. */
  private outstanding = new Map<Claim, Outstanding>();

  constructor(private readonly metrics: Metrics) {}

  /** Claims just handed to the store. */
  track(tickets: readonly ClaimTicket[]): void {
    const now = performance.now();
    for (const t of tickets) this.outstanding.set(t, { ticket: t, since: now, outcome: null });
  }

  /**
   * The decisions a flush returned: noted now, applied at the next settle (after the publish of the
   * totals that include them). A decision about a claim this board does not track is ignored.
   */
  decided(decisions: readonly ClaimDecision[]): void {
    for (const d of decisions) {
      const o = this.outstanding.get(d.claim);
      if (o) o.outcome = d.outcome;
    }
  }

  /** Apply every decision noted since the last call; returns how many were applied. */
  settle(): number {
    if (this.outstanding.size === 0) return 0;
    const now = performance.now();
    let applied = 0;
    for (const [claim, o] of this.outstanding) {
      if (o.outcome === null) continue;
      this.outstanding.delete(claim);
      applied++;
      this.metrics.claimDecision.observe((now - o.since) / 1000);
      const t = o.ticket;
      const b = t.buzzer;
      if (o.outcome === "counted") {
        b.counted++;
        this.metrics.buzzesCounted++;
      } else {
        b.rejected.duplicate = (b.rejected.duplicate ?? 0) + 1;
        this.metrics.rejected.duplicate++;
      }
      if (t.seq === b.lastSeq) b.last = o.outcome;
      b.undecided--;
    }
    return applied;
  }

  /** Claims handed over and not decided yet. */
  get pending(): number {
    return this.outstanding.size;
  }
}
