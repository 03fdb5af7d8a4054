/**
 * Per-connection bookkeeping of buzzes in flight, resolved from the server's cumulative `ack`.
 * Pure logic (no I/O); unit-tested.
 *
 * Guarantees:
 *  - Every buzz handed to `sent()` is returned exactly once: by `applyAck()` with an outcome, or by
 *    `drain()` when the connection is gone.
 *  - The outcomes returned for one ack add up exactly to that ack's deltas (counted, each reject
 *    reason, and `rejectedOther`), so the number of buzzes a caller sees as "counted" equals what the
 *    server counted.
 *  - Reasons this client does not know (a newer server's) are one bucket, "rejected_other", kept
 *    cumulatively like the others: they settle buzzes and are never a mismatch.
 *  - The buzz numbered `ack.seq` gets `ack.last` exactly. When one ack covers several buzzes, the
 *    others are assigned in send order, counted first, then reasons in REJECT_REASONS order, then
 *    "rejected_other" - exact as a multiset; the assignment is right whenever earlier buzzes count and
 *    later ones are refused (duplicates, voting closing), which is how the server's policies behave.
 */
import { REJECT_REASONS, REJECTED_OTHER, type RejectReason } from "../../shared/codes.ts";
import type { Ack } from "./protocol-types.ts";

type Refusal = RejectReason | typeof REJECTED_OTHER;
/** Every refusal bucket, in the order the ledger assigns them to buzzes an ack covers. */
const REFUSALS: readonly Refusal[] = [...REJECT_REASONS, REJECTED_OTHER];

export type AckOutcome = "counted" | Refusal | "unconfirmed";

export interface Resolved<T> {
  item: T;
  outcome: AckOutcome;
}

export interface AckResult<T> {
  resolved: Resolved<T>[];
  /** Set when the ack did not add up with what was in flight (a server bug); outcomes are best effort. */
  mismatch: string | null;
}

export class AckLedger<T> {
  #nextSeq = 1;
  #inflight: { seq: number; item: T }[] = [];
  #ackSeq = 0;
  #counted = 0;
  #rejected: Partial<Record<Refusal, number>> = {};

  get inflightCount(): number {
    return this.#inflight.length;
  }

  /** Registers a buzz about to be sent on this connection; returns the seq to put in its frame. */
  sent(item: T): number {
    const seq = this.#nextSeq++;
    this.#inflight.push({ seq, item });
    return seq;
  }

  applyAck(ack: Pick<Ack, "seq" | "counted" | "rejected" | "rejectedOther" | "last">): AckResult<T> {
    const problems: string[] = [];
    if (ack.seq < this.#ackSeq) return { resolved: [], mismatch: `ack seq ${ack.seq} went back from ${this.#ackSeq}` };
    let n = 0;
    while (n < this.#inflight.length && this.#inflight[n]!.seq <= ack.seq) n++;
    const covered = this.#inflight.splice(0, n);

    let dCounted = ack.counted - this.#counted;
    const rejected: Partial<Record<Refusal, number>> = { ...ack.rejected };
    if (ack.rejectedOther !== undefined) rejected[REJECTED_OTHER] = ack.rejectedOther;
    const dRejected = new Map<Refusal, number>();
    for (const r of REFUSALS) {
      const d = (rejected[r] ?? 0) - (this.#rejected[r] ?? 0);
      if (d !== 0) dRejected.set(r, d);
    }
    const outcomes = new Array<AckOutcome | undefined>(covered.length);
    const take = (o: Exclude<AckOutcome, "unconfirmed">): boolean => {
      if (o === "counted") return dCounted-- > 0;
      const d = dRejected.get(o) ?? 0;
      dRejected.set(o, d - 1);
      return d > 0;
    };
    const lastIdx = covered.length > 0 && covered[covered.length - 1]!.seq === ack.seq ? covered.length - 1 : -1;
    if (lastIdx >= 0) {
      outcomes[lastIdx] = ack.last;
      if (!take(ack.last)) problems.push(`ack.last=${ack.last} not reflected in its counters`);
    }
    for (let i = 0; i < covered.length; i++) {
      if (outcomes[i] !== undefined) continue;
      if (dCounted > 0) outcomes[i] = (dCounted--, "counted");
      else {
        const r = REFUSALS.find((x) => (dRejected.get(x) ?? 0) > 0);
        if (r !== undefined) {
          dRejected.set(r, dRejected.get(r)! - 1);
          outcomes[i] = r;
        } else {
          outcomes[i] = "unconfirmed";
          problems.push(`buzz seq ${covered[i]!.seq} covered by ack ${ack.seq} but not in its counters`);
        }
      }
    }
    if (dCounted !== 0) problems.push(`counted moved by ${dCounted} more than the buzzes it covers`);
    for (const [r, d] of dRejected)
      if (d !== 0)
        problems.push(`${r === REJECTED_OTHER ? "rejectedOther" : `rejected.${r}`} moved by ${d} more than the buzzes it covers`);

    this.#ackSeq = ack.seq;
    this.#counted = ack.counted;
    this.#rejected = rejected;
    return {
      resolved: covered.map((c, i) => ({ item: c.item, outcome: outcomes[i]! })),
      mismatch: problems.length > 0 ? problems.join("; ") : null,
    };
  }

  /** The connection is gone: returns the unacknowledged buzzes (in send order) and starts afresh. */
  drain(): T[] {
    const items = this.#inflight.map((c) => c.item);
    this.#inflight = [];
    this.#nextSeq = 1;
    this.#ackSeq = 0;
    this.#counted = 0;
    this.#rejected = {};
    return items;
  }
}
