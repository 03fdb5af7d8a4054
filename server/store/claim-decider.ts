/**
 * Decides `once` claims for the whole fleet (SharedStore): one memcached `add` per claim, per tick,
 * pipelined; the record decides instead once the cache is known to have lost claims.
 *
 * Per show epoch, a sentinel says the cache still holds every claim made in that epoch: one key
 * per memcached server (`<prefix>:os:<show>:<epoch>`, suffixed `:<i>` with several servers so that
 * each lands on its own server: Cache.spread), since claim keys are spread over every server. Only
 * the node whose `markClaimEpoch` in the record says "created" writes them, once, before any claim;
 * nobody re-creates them. So all sentinels present after a tick's adds means no flush, restart or
 * expiry hit that epoch's keys on any server since any claim was decided (claim keys live at least
 * as long as their server's sentinel: same TTL, written later; one server answers in order).
 *
 * Guarantees:
 *  - A claim is decided only by an `add` whose epoch's sentinel is read back present afterwards
 *    (added -> counted, exists -> duplicate). A sentinel missing after the adds: this tick's answers
 *    are thrown away and the epoch goes to record mode on this node, for the rest of the epoch.
 *  - Cache deciders are registered in the record: a node decides an epoch's claims in the cache only
 *    after `joinClaimCache` answered true, and asks again every `checkEveryMs` while it does.
 *  - Record mode: the node puts the epoch in record mode in the record (`claimRecordMode`: from
 *    then on every join is refused) and its claims wait until no other node is registered: each
 *    one stops deciding the epoch in the cache (its join answered false, its sentinel was missing,
 *    or it retired the epoch), and leaves once every claim it decided there is committed. Then the
 *    claims go to the record with the next batch, whose primary key (show, epoch, act, viewer)
 *    decides; acks wait for that commit. So a record decision never precedes the audit row of a
 *    claim the cache decided counted, however late that node's batches are: exact, whatever the
 *    delays (a node that stopped without a shutdown and never restarts keeps them waiting).
 *  - Unknown mode (sentinel missing, marker present: another node is creating it, or the cache lost
 *    it): claims are held for up to `graceMs`, then record mode.
 *  - Every add of a claim carries the same token (the claim's, chosen at its first add). A claim
 *    retried after any unused answer (its add timed out, or the add answered but the sentinel read
 *    after it failed) checks an "exists" answer against that token (ours -> counted), so a stall
 *    neither loses a claim nor counts it twice.
 *  - memcached or MySQL unreachable: claims are held (not decided, not acked) and retried each tick.
 * Not detected: a claim key evicted (memory pressure); the record's primary key then shows it
 * (audit row count 2).
 */
import { createHash } from "node:crypto";
import type { Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Record } from "../record/record.ts";
import { epochKey } from "../shows/epoch-key.ts";
import type { CounterState, CounterTable } from "./counter-state.ts";
import { fleetViewer, type Claim } from "./store.ts";

export interface ClaimDeciderOptions {
  nodeId: string;
  prefix: string;
  /** How long to wait for another node's sentinel before deciding in the record. */
  graceMs: number;
  /** While deciding an epoch in the cache, how often to ask the record whether it went to record mode. */
  checkEveryMs: number;
  /** TTL of claim and sentinel keys (seconds). */
  ttlSec: number;
  /** Unique per process lifetime: qualifies per-connection viewer keys (store.ts fleetViewer). */
  processKey: string;
}

type Mode = "unknown" | "cache" | "record";

/**
 * This node's registration as a cache decider of an epoch in the record: none sent; a join sent
 * whose answer is not known (it may still insert the row); a join answered (the row, if any, is
 * final: a later landing join changes nothing); left.
 */
type Registration = "none" | "doubt" | "settled" | "left";

/**
 * What the decider reads of this node's counters (SharedStore's CounterTable): a test of whether
 * the record holds every buzz of the epoch this node's counters were given so far (cache-decided
 * claims included).
 */
export type CommittedSoFar = (show: string, epoch: string) => () => boolean;

/** CommittedSoFar over a CounterTable: each counter of the epoch, as it stands now, committed (or settled and dropped). */
export function committedSoFar(counters: CounterTable, show: string, epoch: string): () => boolean {
  const marks: Array<[CounterState, number]> = [];
  for (const c of counters.all()) if (c.show === show && c.epoch === epoch) marks.push([c, c.arrived]);
  return () => marks.every(([c, n]) => counters.find(c.show, c.epoch, c.act) !== c || c.persisted >= n);
}

interface EpochClaims {
  readonly show: string;
  readonly epoch: string;
  /** One per memcached server; present all together, or the cache lost claims. */
  readonly sentinels: readonly string[];
  mode: Mode;
  /** Unknown: when the sentinel was first found missing; record: when record mode began. */
  since: number;
  held: Claim[];
  retired: boolean;
  registration: Registration;
  /** Cache mode: when the record last answered the join. */
  checkedAt: number;
  /** Record mode: the record said no other node is registered (final: nobody can join again). */
  clear: boolean;
  /** Once this node decides no more of the epoch in the cache: whether all it decided there is committed. */
  committed: (() => boolean) | null;
}

/** A claim with its show epoch; `state.retired` tells whether the caller has retired that epoch since. */
export interface EpochClaim {
  show: string;
  epoch: string;
  claim: Claim;
  /** The claim's viewer as the fleet knows it (per-connection keys qualified): audit rows use it. */
  viewer: string;
  state: { readonly retired: boolean };
}

/** The memcached key of a viewer's claim (`viewer` as the fleet knows it: store.ts fleetViewer). */
export function onceClaimKey(prefix: string, show: string, epoch: string, act: string, viewer: string): string {
  const h = createHash("sha256")
    .update(JSON.stringify([show, epoch, act, viewer]))
    .digest("base64url");
  return `${prefix}:o:${h}`;
}

export class ClaimDecider {
  readonly counts = { adds: 0, sentinelReads: 0, counted: 0, duplicates: 0, discarded: 0, recordModeEpochs: 0 };
  private readonly epochs = new Map<string, EpochClaims>();
  /** Claims with an add sent and no decision yet, with the token every add of the claim carries. */
  private readonly tokens = new Map<Claim, string>();
  private nonce = 0;
  error: string | null = null;

  constructor(
    private readonly cache: Cache,
    private readonly record: Record,
    private readonly opts: ClaimDeciderOptions,
    private readonly log: Logger,
    private readonly committedSoFar: CommittedSoFar,
  ) {}

  take(show: string, epoch: string, claims: readonly Claim[]): void {
    if (claims.length === 0) return;
    const e = this.entry(show, epoch);
    for (const c of claims) e.held.push(c);
  }

  /** The caller will not name this epoch again: drop its state once nothing is held. */
  retire(show: string, epoch: string): void {
    const e = this.epochs.get(epochKey(show, epoch));
    if (e) e.retired = true;
    this.prune();
  }

  /** Claims not decided yet (held here; record-mode claims handed to the writer are not counted). */
  get held(): number {
    let n = 0;
    for (const e of this.epochs.values()) n += e.held.length;
    return n;
  }

  /** Decide what the cache can decide now; returns the claims counted. Never rejects. */
  async decide(now: number): Promise<EpochClaim[]> {
    let failed: unknown = null;
    const note = (err: unknown): void => {
      failed ??= err;
    };
    const active = [...this.epochs.values()].filter((e) => e.held.length > 0 && e.mode !== "record");
    try {
      await this.resolveModes(
        active.filter((e) => e.mode === "unknown"),
        now,
      );
    } catch (err) {
      note(err); // those epochs stay unknown: their claims are held
    }
    // Before any add, so every cache decision of a stopped epoch is in the counters: what to commit before leaving.
    for (const e of this.epochs.values())
      if (e.committed === null && (e.mode === "record" || (e.retired && e.held.length === 0))) this.stop(e);
    await this.join(now).catch(note);
    let counted: EpochClaim[] = [];
    try {
      const r = await this.addAll(
        active.filter((e) => e.mode === "cache" && e.registration === "settled"),
        now,
      );
      counted = r.counted;
      if (r.failed !== null) note(r.failed);
    } catch (err) {
      note(err); // the sentinels could not be read back: no answer of this tick is used
    }
    await this.clearRecordMode().catch(note);
    await this.leave().catch(note);
    this.noteError(failed);
    this.prune();
    return counted;
  }

  /**
   * Cache-mode epochs: join (before the first add), and ask again every `checkEveryMs` (refused:
   * another node put the epoch in record mode, so this one stops). Stopped epochs whose join is in
   * doubt: join once more, so the row (if any) is final before leaving.
   */
  private async join(now: number): Promise<void> {
    const due = [...this.epochs.values()].filter(
      (e) =>
        e.registration === "doubt" ||
        (e.mode === "cache" && e.committed === null && (e.registration === "none" || now - e.checkedAt >= this.opts.checkEveryMs)),
    );
    await Promise.all(
      due.map(async (e) => {
        if (e.registration === "none") e.registration = "doubt";
        const ok = await this.record.joinClaimCache(e.show, e.epoch, this.opts.nodeId);
        e.registration = "settled";
        e.checkedAt = now;
        if (!ok && e.mode === "cache") this.toRecord(e, now, "another node put this epoch in record mode");
      }),
    );
  }

  /** Record-mode epochs with claims waiting: put the epoch in record mode, then wait for every other cache decider to leave. */
  private async clearRecordMode(): Promise<void> {
    const due = [...this.epochs.values()].filter((e) => e.mode === "record" && !e.clear && e.held.length > 0);
    await Promise.all(
      due.map(async (e) => {
        const others = await this.record.claimRecordMode(e.show, e.epoch, this.opts.nodeId);
        if (others.length === 0) e.clear = true;
      }),
    );
  }

  /** Stopped epochs: leave the record's cache deciders once every claim this node decided in the cache is committed. */
  private async leave(): Promise<void> {
    const due = [...this.epochs.values()].filter((e) => e.registration === "settled" && e.committed?.() === true);
    await Promise.all(
      due.map(async (e) => {
        await this.record.leaveClaimCache(this.opts.nodeId, e.show, e.epoch);
        e.registration = "left";
      }),
    );
  }

  /** This node decides no more of the epoch in the cache: what it must commit before leaving. */
  private stop(e: EpochClaims): void {
    e.committed = this.committedSoFar(e.show, e.epoch);
    if (e.registration === "none") e.registration = "left"; // never joined: nothing to leave
  }

  private noteError(err: unknown): void {
    if (err === null) {
      if (this.error !== null) this.log.info("once claims are decided again");
      this.error = null;
      return;
    }
    if (this.error === null) this.log.error("once claims cannot be decided now; held (not counted, not acked)", { err });
    this.error = err instanceof Error ? err.message : JSON.stringify(err);
  }

  /** Record-mode claims no other node's cache decisions can still precede, taken out for the record writer. */
  takeForRecord(): EpochClaim[] {
    const out: EpochClaim[] = [];
    for (const e of this.epochs.values()) {
      if (e.mode !== "record" || !e.clear || e.held.length === 0) continue;
      for (const claim of e.held) out.push({ show: e.show, epoch: e.epoch, claim, viewer: this.viewerOf(claim), state: e });
      e.held = [];
    }
    this.prune();
    return out;
  }

  private async resolveModes(unknown: EpochClaims[], now: number): Promise<void> {
    if (unknown.length === 0) return;
    this.counts.sentinelReads++;
    const got = await this.cache.getMany(unknown.flatMap((e) => e.sentinels));
    for (const e of unknown) {
      if (e.sentinels.every((k) => got.has(k))) {
        e.mode = "cache";
        continue;
      }
      if ((await this.record.markClaimEpoch(e.show, e.epoch, this.opts.nodeId)) === "created") {
        await Promise.all(e.sentinels.map((k) => this.cache.add(k, this.opts.nodeId, this.opts.ttlSec)));
        e.mode = "cache";
        continue;
      }
      if (e.since === 0) e.since = now;
      if (now - e.since >= this.opts.graceMs) this.toRecord(e, now, "no sentinel for this epoch in the cache");
    }
  }

  /** One pipelined round of adds, then the sentinels read back; answers count only if they are present. */
  private async addAll(epochs: EpochClaims[], now: number): Promise<{ counted: EpochClaim[]; failed: unknown }> {
    if (epochs.length === 0) return { counted: [], failed: null };
    const answers = new Map<Claim, "counted" | "duplicate">();
    let failed: unknown = null;
    await Promise.all(
      epochs.flatMap((e) =>
        e.held.map(async (claim) => {
          const key = this.claimKey(e, claim);
          const retried = this.tokens.get(claim);
          const token = retried ?? `${this.opts.processKey}/${++this.nonce}`;
          if (retried === undefined) this.tokens.set(claim, token);
          this.counts.adds++;
          try {
            if (await this.cache.add(key, token, this.opts.ttlSec)) answers.set(claim, "counted");
            else {
              // An earlier add of this very claim may be the one that holds the key (its answer was
              // lost to a timeout, or thrown away with a failed sentinel read): then it is ours.
              const mine = retried !== undefined && (await this.cache.get(key)) === token;
              answers.set(claim, mine ? "counted" : "duplicate");
            }
          } catch (err) {
            failed = err;
          }
        }),
      ),
    );
    this.counts.sentinelReads++;
    const present = await this.cache.getMany(epochs.flatMap((e) => e.sentinels));
    const counted: EpochClaim[] = [];
    for (const e of epochs) {
      if (e.mode !== "cache") continue; // stopped meanwhile: its claims wait for the record
      if (!e.sentinels.every((k) => present.has(k))) {
        this.counts.discarded += e.held.filter((c) => answers.has(c)).length;
        for (const c of e.held) this.tokens.delete(c);
        this.toRecord(e, now, "the cache lost this epoch's claims (sentinel gone)");
        continue;
      }
      const still: Claim[] = [];
      for (const c of e.held) {
        const a = answers.get(c);
        if (a === undefined) {
          still.push(c);
          continue;
        }
        this.tokens.delete(c);
        c.outcome = a;
        if (a === "counted") {
          this.counts.counted++;
          counted.push({ show: e.show, epoch: e.epoch, claim: c, viewer: this.viewerOf(c), state: e });
        } else this.counts.duplicates++;
      }
      e.held = still;
    }
    return { counted, failed };
  }

  private toRecord(e: EpochClaims, now: number, why: string): void {
    e.mode = "record";
    e.since = now;
    this.counts.recordModeEpochs++;
    this.log.warn("once claims of this epoch are decided by the record from now on", { show: e.show, epoch: e.epoch, why });
  }

  private claimKey(e: EpochClaims, c: Claim): string {
    return onceClaimKey(this.opts.prefix, e.show, e.epoch, c.act, this.viewerOf(c));
  }

  private viewerOf(c: Claim): string {
    return fleetViewer(c.viewer, this.opts.processKey);
  }

  private entry(show: string, epoch: string): EpochClaims {
    const k = epochKey(show, epoch);
    let e = this.epochs.get(k);
    if (!e) {
      const base = `${this.opts.prefix}:os:${show}:${epoch}`;
      e = {
        show,
        epoch,
        sentinels: this.cache.spread?.(base) ?? [base],
        mode: "unknown",
        since: 0,
        held: [],
        retired: false,
        registration: "none",
        checkedAt: 0,
        clear: false,
        committed: null,
      };
      this.epochs.set(k, e);
    }
    return e;
  }

  private prune(): void {
    for (const [k, e] of this.epochs) if (e.retired && e.held.length === 0 && e.registration === "left") this.epochs.delete(k);
  }
}
