/**
 * The forward-compatible reading of an ack's reasons (both protocol versions). A reason this
 * receiver does not know means "not counted, for a reason it cannot name": its count is added to
 * `rejectedOther` and a `last` naming it reads as REJECTED_OTHER. Never an error, so a server can add
 * a reject reason without older clients closing their connection or losing the cumulative sums:
 * counted + every known reason + rejectedOther still equals the buzzes the ack covers.
 */
import { REJECT, REJECTED_OTHER, type AckLast, type RejectReason } from "./codes.ts";

export interface AckReasons {
  /** Counts of the reasons this receiver knows, as sent. */
  rejected: Partial<Record<RejectReason, number>>;
  /** Sum of the counts of every reason this receiver does not know; present only when above zero. */
  rejectedOther?: number;
  last: AckLast;
}

export function isKnownRejectReason(r: string): r is RejectReason {
  return Object.prototype.hasOwnProperty.call(REJECT, r);
}

/** Splits v1's `rejected` map (any reason names) and `last` into known reasons and the rest. */
export function readAckReasons(rejected: Readonly<Record<string, number>>, last: string): AckReasons {
  const known: Partial<Record<RejectReason, number>> = {};
  let other = 0;
  for (const [reason, n] of Object.entries(rejected)) {
    if (isKnownRejectReason(reason)) known[reason] = n;
    else other += n;
  }
  const out: AckReasons = {
    rejected: known,
    last: last === "counted" || isKnownRejectReason(last) ? last : REJECTED_OTHER,
  };
  if (other > 0) out.rejectedOther = other;
  return out;
}
