/**
 * Decides one buzz: counted, or why not. Checks run cheapest-first and in a fixed order:
 * out_of_order, rate_limited, unknown_act, voting_closed, duplicate. A counted buzz is in the
 * show's tally (one increment of its slot) before this returns; the outcome is recorded in the
 * buzzer's cumulative counters that the next ack carries.
 *
 * A `claim` (the first buzz of a viewer for an act when the store decides `once` fleet-wide) is
 * neither counted nor rejected yet: it waits in the tally for the next flush, `undecided` holds the
 * connection's ack back (transport sends no ack while it is > 0: an ack never covers an undecided
 * buzz), and claims.ts records the store's decision in these same counters.
 *
 * `last` is the outcome of the buzz numbered `lastSeq` (the highest seq processed): a replayed or
 * reordered seq (out_of_order) is counted in `rejected` but does not change `last`.
 */
import type { RejectReason } from "../../shared/codes.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { BuzzPolicy } from "./buzz-policy.ts";
import type { BucketState, RateLimiter } from "./rate-limiter.ts";
import type { ShowCounts } from "./show-counts.ts";
import type { TallySlot } from "./tally.ts";

export interface Buzzer {
  viewerKey: string;
  lastSeq: number;
  counted: number;
  rejected: Partial<Record<RejectReason, number>>;
  last: "counted" | RejectReason;
  bucket: BucketState;
  /** Claims of this buzzer the store has not decided yet (its ack waits until 0). */
  undecided: number;
}

export type IntakeResult = "counted" | "claim" | RejectReason | "flood";

export class BuzzIntake {
  constructor(
    private readonly policy: BuzzPolicy,
    private readonly limiter: RateLimiter,
    private readonly metrics: Metrics,
  ) {}

  /**
   * `slot`: the act's slot in `counts.table`, or null when the show has no such act. `nowMs`: when
   * the buzz was received (ms since 1970), or 0 when the caller did not read the clock.
   */
  buzz(b: Buzzer, counts: ShowCounts, slot: TallySlot | null, seq: number, nowMs: number): IntakeResult {
    this.metrics.buzzesReceived++;
    if (seq <= b.lastSeq) {
      this.count(b, "out_of_order");
      return "out_of_order";
    }
    b.lastSeq = seq;
    let reason: RejectReason;
    const rate = this.limiter.take(b.bucket, nowMs);
    if (rate === "flood") {
      this.reject(b, "rate_limited");
      return "flood";
    }
    const show = counts.show;
    if (rate === "limited") reason = "rate_limited";
    else if (slot === null) reason = "unknown_act";
    // The receipt time decides against a scheduled stage change (the clock is read here only
    // when one is pending and the rate limiter did not read it already).
    else if (!show.votingOpen(slot.act, nowMs > 0 || show.dueAt === Infinity ? nowMs : Date.now())) reason = "voting_closed";
    else {
      const admission = this.policy.admit(show.epochKey, slot.act, b.viewerKey);
      if (admission === "duplicate") reason = "duplicate";
      else if (admission === "claim") {
        counts.tally.claim({ act: slot.act, viewer: b.viewerKey, atMs: Date.now(), buzzer: b, seq });
        b.undecided++;
        return "claim";
      } else {
        this.countIn(slot, b);
        return "counted";
      }
    }
    this.reject(b, reason);
    return reason;
  }

  private countIn(slot: TallySlot, b: Buzzer): void {
    slot.pending++;
    if (slot.viewers !== null) slot.viewers.set(b.viewerKey, (slot.viewers.get(b.viewerKey) ?? 0) + 1);
    b.counted++;
    b.last = "counted";
    this.metrics.buzzesCounted++;
  }

  /** A rejection of the buzz numbered `lastSeq`: counted, and its outcome. */
  private reject(b: Buzzer, reason: RejectReason): void {
    this.count(b, reason);
    b.last = reason;
  }

  private count(b: Buzzer, reason: RejectReason): void {
    b.rejected[reason] = (b.rejected[reason] ?? 0) + 1;
    this.metrics.rejected[reason]++;
  }
}
