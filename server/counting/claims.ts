/**
 * The `once` claims handed to the store and not yet decided, and what a decision does to the
 * buzzer that made the claim.
 *
 * Guarantees:
 *  - A decision is applied exactly once: `counted` adds to the buzzer's `counted` (and the node's
 *    counted metric), `duplicate` to its `rejected.duplicate`; `last` takes the outcome when the
 *    claim was the buzzer's latest buzz. Then `undecided` drops by one, and the ack transport holds
 *    back while it is > 0 goes out at the next tick, cumulative and never covering an undecided buzz.
 *  - The store counted a `counted` claim into the totals of the same flush that decided it, and
 *    `settle` runs after that flush: an ack never says counted before the live total includes it.
 *  - Claims of a closed connection are still decided and counted; nobody is acked.
 * Memory: one entry per undecided claim (distinct viewers per act awaiting a decision).
 */
import { performance } from "node:perf_hooks";
import type { Metrics } from "../ops/metrics.ts";
import type { ClaimTicket } from "./tally.ts";

export class ClaimBoard {
  private outstanding: ClaimTicket[] = [];
  /** performance.now() when outstanding[i] was handed to the store (decision latency). */
  private handedAt: number[] = [];

  constructor(private readonly metrics: Metrics) {}

  /** Claims just handed to the store. */
  track(tickets: readonly ClaimTicket[]): void {
    const now = performance.now();
    for (const t of tickets) {
      this.outstanding.push(t);
      this.handedAt.push(now);
    }
  }

  /** Apply every decision the store made since the last call; returns how many were applied. */
  settle(): number {
    if (this.outstanding.length === 0) return 0;
    const still: ClaimTicket[] = [];
    const stillSince: number[] = [];
    const now = performance.now();
    let applied = 0;
    for (let i = 0; i < this.outstanding.length; i++) {
      const t = this.outstanding[i]!;
      const since = this.handedAt[i] ?? now;
      if (t.outcome === "pending") {
        still.push(t);
        stillSince.push(since);
        continue;
      }
      applied++;
      this.metrics.claimDecision.observe((now - since) / 1000);
      const b = t.buzzer;
      if (t.outcome === "counted") {
        b.counted++;
        this.metrics.buzzesCounted++;
      } else {
        b.rejected.duplicate = (b.rejected.duplicate ?? 0) + 1;
        this.metrics.rejected.duplicate++;
      }
      if (t.seq === b.lastSeq) b.last = t.outcome;
      b.undecided--;
    }
    this.outstanding = still;
    this.handedAt = stillSince;
    return applied;
  }

  /** Claims handed over and not decided yet. */
  get pending(): number {
    return this.outstanding.length;
  }
}
