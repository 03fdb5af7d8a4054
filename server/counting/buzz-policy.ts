/**
 * Which buzzes count.
 *  - `once`: a viewer counts at most once per act per show epoch. The viewer is `Conn.viewerKey`
 *    (`v:<id>` when hello names a viewer or a token's `sub`, else the connection). This process
 *    remembers every (epoch, act, viewer) it has seen, so a second buzz here is a `duplicate` at
 *    once. When the store decides claims (`claims` true: several processes count, see
 *    store/store.ts), the first buzz seen here is a `claim`: not counted until the store, which
 *    sees the whole fleet, decides it. Otherwise (one process, the embedded default) this memory is
 *    the whole truth and the first buzz counts at once.
 *    Memory: one entry per (epoch, act, viewer) seen, for the live epochs only: the policy is a
 *    holder of counting's epoch lifecycle (show-counts.ts), which retires the old epoch on every reset.
 *  - `unlimited`: every buzz counts (subject to the rate limiter); used by benchmarks.
 */
import { epochKey } from "../shows/epoch-key.ts";
import type { EpochHolder } from "../shows/epoch-lifecycle.ts";

export type PolicyName = "once" | "unlimited";

/** `claim`: not decided here; the caller hands it to the store (counting/claims.ts). */
export type Admission = "counted" | "claim" | "duplicate";

export interface BuzzPolicy extends EpochHolder {
  readonly name: PolicyName;
  /** Whether this buzz counts, is a claim for the store to decide, or is a duplicate; records it. */
  admit(showEpochKey: string, act: string, viewerKey: string): Admission;
  /** Forget everything about a show epoch (it retired: a reset replaced it). */
  retire(show: string, epoch: string): void;
  /** Viewers remembered, summed over epochs and acts (the policy's memory; a metric). */
  readonly remembered: number;
}

export class UnlimitedPolicy implements BuzzPolicy {
  readonly name = "unlimited" as const;
  readonly remembered = 0;
  admit(): Admission {
    return "counted";
  }
  retire(): void {}
}

export class OncePolicy implements BuzzPolicy {
  readonly name = "once" as const;
  private readonly seen = new Map<string, Map<string, Set<string>>>();
  private count = 0;
  private readonly first: Admission;

  /** `claims`: the store decides first buzzes fleet-wide (they are claims, not counted yet). */
  constructor(claims = false) {
    this.first = claims ? "claim" : "counted";
  }

  get remembered(): number {
    return this.count;
  }

  admit(showEpochKey: string, act: string, viewerKey: string): Admission {
    let byAct = this.seen.get(showEpochKey);
    if (!byAct) this.seen.set(showEpochKey, (byAct = new Map<string, Set<string>>()));
    let viewers = byAct.get(act);
    if (!viewers) byAct.set(act, (viewers = new Set()));
    if (viewers.has(viewerKey)) return "duplicate";
    viewers.add(viewerKey);
    this.count++;
    return this.first;
  }

  retire(show: string, epoch: string): void {
    const k = epochKey(show, epoch);
    const byAct = this.seen.get(k);
    if (!byAct) return;
    for (const viewers of byAct.values()) this.count -= viewers.size;
    this.seen.delete(k);
  }
}

export function createPolicy(name: PolicyName, claims = false): BuzzPolicy {
  return name === "once" ? new OncePolicy(claims) : new UnlimitedPolicy();
}
