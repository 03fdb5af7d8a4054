/**
 * What the stores answered about `once` claims, as tests see it: every flush result a test notes
 * here, its decisions kept per claim (the claim object the test handed over). A claim no noted
 * flush answered is "pending". A claim answered twice is a contract violation and throws.
 */
import type { Claim, ClaimOutcome, FlushResult } from "../../server/store/store.ts";

export class ClaimOutcomes {
  private readonly byClaim = new Map<Claim, ClaimOutcome>();

  /** Note a flush's decisions; returns the result unchanged. */
  note<R extends FlushResult>(result: R): R {
    for (const d of result.decisions) {
      if (this.byClaim.has(d.claim)) throw new Error(`claim of ${d.claim.viewer} answered twice`);
      this.byClaim.set(d.claim, d.outcome);
    }
    return result;
  }

  of(c: Claim): ClaimOutcome | "pending" {
    return this.byClaim.get(c) ?? "pending";
  }
}
