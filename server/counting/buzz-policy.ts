/**
 * Which buzzes count.
 *  - `once`: a viewer counts at most once per act per show epoch. The viewer is the `viewer` id
 *    sent in hello when present (so a reconnecting client cannot count twice), else the connection.
 *    The memory of who buzzed lives in this node's process: a viewer who reconnects to a different
 *    node could count once more there (documented in docs/architecture.md).
 *    Memory: one entry per (epoch, act, viewer) that counted, for the live epochs only: counting
 *    (show-counts.ts) calls `forget` with the old epoch's `epochKey` on every reset.
 *  - `unlimited`: every buzz counts (subject to the rate limiter); used by benchmarks.
 */
export type PolicyName = "once" | "unlimited";

export interface BuzzPolicy {
  readonly name: PolicyName;
  /** True when this buzz may count; records it when it does. */
  admit(showEpochKey: string, act: string, viewerKey: string): boolean;
  /** Forget everything about a show epoch (after a reset). */
  forget(showEpochKey: string): void;
  /** Viewers remembered, summed over epochs and acts (the policy's memory; a metric). */
  readonly remembered: number;
}

export class UnlimitedPolicy implements BuzzPolicy {
  readonly name = "unlimited" as const;
  readonly remembered = 0;
  admit(): boolean {
    return true;
  }
  forget(): void {}
}

export class OncePolicy implements BuzzPolicy {
  readonly name = "once" as const;
  private readonly seen = new Map<string, Map<string, Set<string>>>();
  private count = 0;

  get remembered(): number {
    return this.count;
  }

  admit(showEpochKey: string, act: string, viewerKey: string): boolean {
    let byAct = this.seen.get(showEpochKey);
    if (!byAct) this.seen.set(showEpochKey, (byAct = new Map<string, Set<string>>()));
    let viewers = byAct.get(act);
    if (!viewers) byAct.set(act, (viewers = new Set()));
    if (viewers.has(viewerKey)) return false;
    viewers.add(viewerKey);
    this.count++;
    return true;
  }

  forget(showEpochKey: string): void {
    const byAct = this.seen.get(showEpochKey);
    if (!byAct) return;
    for (const viewers of byAct.values()) this.count -= viewers.size;
    this.seen.delete(showEpochKey);
  }
}

export function createPolicy(name: PolicyName): BuzzPolicy {
  return name === "once" ? new OncePolicy() : new UnlimitedPolicy();
}
