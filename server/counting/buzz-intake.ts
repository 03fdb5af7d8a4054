/**
 * Decides one buzz: counted, or why not. Checks run cheapest-first and in a fixed order:
 * out_of_order, rate_limited, unknown_act, voting_closed, duplicate. A counted buzz is in the
 * show's tally before this returns; the outcome is recorded in the buzzer's cumulative counters
 * that the next ack carries.
 */
import type { RejectReason } from "../../shared/codes.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show } from "../shows/show.ts";
import type { BuzzPolicy } from "./buzz-policy.ts";
import type { BucketState, RateLimiter } from "./rate-limiter.ts";

export interface Buzzer {
  viewerKey: string;
  lastSeq: number;
  counted: number;
  rejected: Partial<Record<RejectReason, number>>;
  last: "counted" | RejectReason;
  bucket: BucketState;
}

export type IntakeResult = "counted" | RejectReason | "flood";

export class BuzzIntake {
  constructor(
    private readonly policy: BuzzPolicy,
    private readonly limiter: RateLimiter,
    private readonly metrics: Metrics,
  ) {}

  buzz(b: Buzzer, show: Show, act: string, seq: number, nowMs: number): IntakeResult {
    this.metrics.buzzesReceived++;
    let reason: RejectReason;
    if (seq <= b.lastSeq) {
      reason = "out_of_order";
    } else {
      b.lastSeq = seq;
      const rate = this.limiter.take(b.bucket, nowMs);
      if (rate === "flood") return this.reject(b, "rate_limited") && "flood";
      if (rate === "limited") reason = "rate_limited";
      else if (!show.actIds.has(act)) reason = "unknown_act";
      else if (!show.votingOpen(act)) reason = "voting_closed";
      else if (!this.policy.admit(show.epochKey, act, b.viewerKey)) reason = "duplicate";
      else {
        show.tally.count(show.tally.slot(act));
        b.counted++;
        b.last = "counted";
        this.metrics.buzzesCounted++;
        return "counted";
      }
    }
    this.reject(b, reason);
    return reason;
  }

  private reject(b: Buzzer, reason: RejectReason): true {
    b.rejected[reason] = (b.rejected[reason] ?? 0) + 1;
    b.last = reason;
    this.metrics.rejected[reason]++;
    return true;
  }
}
