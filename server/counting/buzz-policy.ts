/**
 * Which buzzes count.
 *  - `once`: a viewer counts at most once per act per show epoch. The viewer is the `viewer` id
 *    sent in hello when present (so a reconnecting client cannot count twice), else the connection.
 *    The memory of who buzzed lives in this node's process: a viewer who reconnects to a different
 *    node could count once more there (documented in docs/architecture.md).
 *  - `unlimited`: every buzz counts (subject to the rate limiter); used by benchmarks.
 */
export type PolicyName = "once" | "unlimited";

export interface BuzzPolicy {
  readonly name: PolicyName;
  /** True when this buzz may count; records it when it does. */
  admit(showEpochKey: string, act: string, viewerKey: string): boolean;
  /** Forget everything about a show epoch (after a reset). */
  forget(showEpochKey: string): void;
}

export class UnlimitedPolicy implements BuzzPolicy {
  readonly name = "unlimited" as const;
  admit(_showEpochKey: string, _act: string, _viewerKey: string): boolean {
    return true;
  }
  forget(_showEpochKey: string): void {}
}

export class OncePolicy implements BuzzPolicy {
  readonly name = "once" as const;
  private readonly seen = new Map<string, Map<string, Set<string>>>();

  admit(showEpochKey: string, act: string, viewerKey: string): boolean {
    let byAct = this.seen.get(showEpochKey);
    if (!byAct) this.seen.set(showEpochKey, (byAct = new Map()));
    let viewers = byAct.get(act);
    if (!viewers) byAct.set(act, (viewers = new Set()));
    if (viewers.has(viewerKey)) return false;
    viewers.add(viewerKey);
    return true;
  }

  forget(showEpochKey: string): void {
    this.seen.delete(showEpochKey);
  }
}

export function createPolicy(name: PolicyName): BuzzPolicy {
  return name === "once" ? new OncePolicy() : new UnlimitedPolicy();
}
