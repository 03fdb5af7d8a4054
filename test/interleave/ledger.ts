/**
 * What viewers were told, kept by the harness beside the system under test: buzzes accepted
 * (the most any total may show), acks that said `counted`, per viewer under `once`, and every
 * total each node published. The end-of-run check compares it with live, record and audit.
 */
import type { Claim, ClaimDecision } from "../../server/store/store.ts";

export const actKey = (show: string, epoch: string, act: string): string => `${show}|${epoch}|${act}`;

export interface TrackedClaim {
  claim: Claim;
  key: string;
  viewer: string;
}

export class Ledger {
  /** Per act key: buzzes accepted (`unlimited`) or viewers with a claim accepted (`once`). */
  readonly accepted = new Map<string, Set<string> | number>();
  /** Per act key: acks that said counted. */
  readonly acks = new Map<string, number>();
  /** Per act key and viewer (`once`): acks that said counted. */
  readonly perViewer = new Map<string, number>();
  /** Act keys of every epoch that took a buzz. */
  readonly keys = new Set<string>();
  /** Claims accepted and not decided yet, by the claim the store answers about. */
  private readonly pending = new Map<Claim, TrackedClaim>();
  readonly violations: string[] = [];

  acceptBuzz(key: string): void {
    this.keys.add(key);
    this.accepted.set(key, ((this.accepted.get(key) as number | undefined) ?? 0) + 1);
    this.ack(key);
  }

  acceptClaim(t: TrackedClaim): void {
    this.keys.add(t.key);
    let s = this.accepted.get(t.key) as Set<string> | undefined;
    if (!s) this.accepted.set(t.key, (s = new Set()));
    s.add(t.viewer);
    this.pending.set(t.claim, t);
  }

  /** Apply the decisions a flush returned (as the tick loop's claim board does). */
  settleClaims(decisions: readonly ClaimDecision[]): void {
    for (const d of decisions) {
      const t = this.pending.get(d.claim);
      if (!t) {
        this.violations.push(`a decision about a claim not pending (decided twice, or never handed over): ${d.claim.viewer}`);
        continue;
      }
      this.pending.delete(d.claim);
      if (d.outcome !== "counted") continue;
      this.ack(t.key);
      const k = `${t.key}|${t.viewer}`;
      const n = (this.perViewer.get(k) ?? 0) + 1;
      this.perViewer.set(k, n);
      if (n > 1) this.violations.push(`viewer counted twice under once: ${k}`);
    }
  }

  get undecided(): number {
    return this.pending.size;
  }

  /** The most a published total may show for this act. */
  ceiling(key: string): number {
    const a = this.accepted.get(key);
    return a === undefined ? 0 : typeof a === "number" ? a : a.size;
  }

  private ack(key: string): void {
    this.acks.set(key, (this.acks.get(key) ?? 0) + 1);
  }
}
