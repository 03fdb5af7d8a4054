/**
 * One node of the simulated fleet: the REAL SharedStore (claim decider, record writer, close
 * reconciler, re-seeding) and the REAL ShowRegistry, on faulty links, driven by a small model of
 * the counting layer that does what tick-loop.ts, show-counts.ts and node.ts do with them: tallies
 * per show epoch (a retired epoch is flushed once more, marked `retired`), `once` claims per process,
 * one flush in flight at a time followed by the phase-2 read, and the close and reopen rules of
 * node.ts.
 */
import type { Logger } from "../../server/ops/logger.ts";
import type { ShowRegistry } from "../../server/shows/show-registry.ts";
import type { SharedStore } from "../../server/store/shared-store.ts";
import type { Claim, ClaimDecision, Delta, ShowFlush, TotalsWant } from "../../server/store/store.ts";
import { epochKey } from "../../server/shows/epoch-key.ts";
import { votingChanges } from "../../server/shows/voting-changes.ts";
import { actKey, type Ledger } from "./ledger.ts";
import type { Policy } from "./plan.ts";

interface Tally {
  show: string;
  epoch: string;
  deltas: Map<string, { n: number; viewers: Map<string, number> }>;
  claims: Claim[];
}

export class SimNode {
  private readonly current = new Map<string, Tally>();
  private retired: Tally[] = [];
  /** `once` per process: (epoch, act, viewer) already claimed here. */
  private readonly claimed = new Set<string>();
  private flushing = false;
  /** Last total published per act key. */
  readonly published = new Map<string, number>();

  constructor(
    readonly index: number,
    readonly store: SharedStore,
    readonly shows: ShowRegistry,
    private readonly policyOf: (show: string) => Policy,
    private readonly ledger: Ledger,
    private readonly log: Logger,
  ) {
    shows.onChange((show, changes, previous) => {
      const { closed, opened } = votingChanges(show, changes, previous);
      if (closed) store.votingClosed(show.id, closed.epoch, [closed.act], closed.version);
      if (opened) store.votingOpened(show.id, opened.epoch, [opened.act], opened.version);
      const t = this.current.get(show.id);
      if (t && !changes.has("epoch")) return;
      if (t) this.retired.push(t);
      this.current.set(show.id, { show: show.id, epoch: show.epoch, deltas: new Map(), claims: [] });
    });
  }

  /** A viewer's buzz arriving at this node: judged by this node's view of the stage. */
  buzz(showId: string, viewer: string, actIndex: number, now: number): string {
    const show = this.shows.get(showId);
    const t = this.current.get(showId);
    const act = show?.info.acts[actIndex]?.id;
    if (!show || !t || act === undefined || !show.votingOpen(act, now)) return "closed";
    const key = actKey(showId, t.epoch, act);
    if (this.policyOf(showId) === "once") {
      const k = `${t.epoch}|${act}|${viewer}`;
      if (this.claimed.has(k)) return "duplicate (this node)";
      this.claimed.add(k);
      const claim: Claim = { act, viewer, atMs: now };
      t.claims.push(claim);
      this.ledger.acceptClaim({ claim, key, viewer });
      return "claimed";
    }
    let d = t.deltas.get(act);
    if (!d) t.deltas.set(act, (d = { n: 0, viewers: new Map() }));
    d.n++;
    d.viewers.set(viewer, (d.viewers.get(viewer) ?? 0) + 1);
    this.ledger.acceptBuzz(key);
    return "counted";
  }

  /** One tick: drain every tally into the store, read the totals, publish, apply decisions. */
  async tick(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    const batch: ShowFlush[] = [];
    const wants: TotalsWant[] = [];
    for (const t of this.retired) batch.push({ show: t.show, epoch: t.epoch, deltas: drain(t), claims: t.claims.splice(0), retired: true });
    this.retired = [];
    for (const [id, t] of this.current) {
      const show = this.shows.get(id);
      if (!show) continue;
      const acts = show.info.acts.map((a) => a.id);
      batch.push({ show: id, epoch: t.epoch, deltas: drain(t), claims: t.claims.splice(0), acts });
      wants.push({ show: id, epoch: t.epoch, acts });
    }
    let decisions: readonly ClaimDecision[] = [];
    try {
      ({ decisions } = await this.store.flush(batch));
      const totals = await this.store.readTotals(wants);
      for (const w of wants) {
        for (const [act, n] of totals.get(epochKey(w.show, w.epoch)) ?? []) this.publish(actKey(w.show, w.epoch, act), n);
      }
    } catch (err) {
      this.ledger.violations.push(`node ${this.index}: the store's flush or read rejected (it must not): ${String(err)}`);
    } finally {
      this.flushing = false;
      this.ledger.settleClaims(decisions);
    }
  }

  /** Nothing of this node's waits in a tally, the store, or the record writer. */
  settled(): boolean {
    const s = this.store;
    const tallies = [...this.current.values(), ...this.retired].every((t) => t.claims.length === 0 && t.deltas.size === 0);
    return tallies && !this.flushing && s.counters.unpersisted() === 0 && s.claims.held === 0 && s.writer.claimsInFlight === 0;
  }

  /** The current epoch of each show as this node knows it. */
  epochs(): Map<string, string> {
    return new Map([...this.current].map(([id, t]) => [id, t.epoch]));
  }

  private publish(key: string, n: number): void {
    const before = this.published.get(key) ?? 0;
    if (n < before) this.ledger.violations.push(`node ${this.index} published a decrease on ${key}: ${before} -> ${n}`);
    const ceiling = this.ledger.ceiling(key);
    if (n > ceiling) this.ledger.violations.push(`node ${this.index} published ${n} on ${key}, more than the ${ceiling} buzzes accepted`);
    this.published.set(key, Math.max(before, n));
    this.log.debug("published", { key, n });
  }
}

function drain(t: Tally): Delta[] {
  const out: Delta[] = [];
  for (const [act, d] of t.deltas) if (d.n > 0) out.push({ act, delta: d.n, viewers: d.viewers });
  t.deltas.clear();
  return out;
}
