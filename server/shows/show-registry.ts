/**
 * All shows this process serves, and the only code that changes them. Changes (create/edit, stage,
 * reset) are made durable through the ShowSource first, then applied here and announced to
 * listeners, synchronously and in registration order (counting retires tallies, the broadcast hub
 * publishes stage and show frames). Changes from other nodes arrive through `applyRemote` (polled by
 * node.ts).
 *
 * Ordering: per show, versions only increase; a change is applied only if its version is newer.
 *
 * Linearizable per show, across nodes and the worker threads of one node: a change is made from the
 * show as the deciding side holds it (`ShowSource.current`, not this process's possibly older copy)
 * and saved as a compare-and-swap on that version. Of several changes made from one version, one is
 * saved; each other one throws ShowConflict (HTTP 409) and is applied nowhere: not here, not
 * published, not in the cache. Its caller learns the current show, which this process applies.
 *
 * Scheduled stage changes (act windows on the show clock): a change with an instant is saved and
 * propagated like any other (it is part of the record, well before its instant), then applied in
 * every process at the instant by a timer here (`applyDue`), announced like an immediate change.
 * Buzzes do not wait for the timer: `Show.votingOpen(act, nowMs)` judges by the schedule. A process
 * that hears of a change after its instant (started late, memcached down) applies it on arrival and
 * logs it: buzzes it received in between were judged by the old stage. One change is pending per
 * show: a new scheduled change replaces it, an immediate one cancels it; a show edit keeps it
 * (unless its act left the show), a reset keeps it. A cancel or replacement posted within the
 * propagation bound (1-2 ticks) of the instant may reach a node after it applied the change: that
 * node then holds the scheduled stage until the cancel arrives.
 */
import type { PutShowBody, ScheduledStage, Stage, ShowInfo } from "../../shared/protocol.ts";
import type { Logger } from "../ops/logger.ts";
import type { ShowRecord } from "../record/record.ts";
import { Show, newEpoch, type PreviousState, type ShowChange, type ShowDiff, type ShowHandle } from "./show.ts";
import type { ShowSource } from "./show-source.ts";
import { resolveInstant, stateAt } from "./stage-schedule.ts";

export type { PreviousState, ShowChange } from "./show.ts";
export type ShowListener = (show: Show, changes: ReadonlySet<ShowChange>, previous: PreviousState) => void;

/** The clock and timers of the show clock; injected by unit tests. */
export interface ShowClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const SYSTEM_CLOCK: ShowClock = {
  now: () => Date.now(),
  // unref: a change parked for later never keeps a draining process alive.
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ShowRegistryOptions {
  /** TICK_MS: scheduled instants are rounded up to its multiples (the aligned ticks). Default 100. */
  tickMs?: number;
  clock?: ShowClock;
  log?: Logger;
}

export class ShowError extends Error {
  constructor(
    readonly code: "unknown_show" | "unknown_act" | "bad_request",
    message: string,
  ) {
    super(message);
    this.name = "ShowError";
  }
}

/** A change lost the compare-and-swap: another change was saved from the same version first. */
export class ShowConflict extends Error {
  readonly code = "conflict";
  constructor(
    readonly showId: string,
    /** The show as it is now (applied in this process); null if it does not exist. */
    readonly current: Show | null,
  ) {
    super(
      `show ${showId} was changed by another request at the same time; nothing was applied (current version ${String(current?.version ?? "none")})`,
    );
    this.name = "ShowConflict";
  }
}

export class ShowRegistry {
  private readonly shows = new Map<string, ShowHandle>();
  private readonly listeners: ShowListener[] = [];
  private readonly timers = new Map<string, unknown>();
  readonly tickMs: number;
  private readonly clock: ShowClock;
  private readonly log: Logger | undefined;

  constructor(
    private readonly source: ShowSource,
    opts: ShowRegistryOptions = {},
  ) {
    this.tickMs = opts.tickMs ?? 100;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.log = opts.log;
  }

  onChange(fn: ShowListener): void {
    this.listeners.push(fn);
  }

  get(id: string): Show | undefined {
    return this.shows.get(id)?.show;
  }

  *all(): IterableIterator<Show> {
    for (const h of this.shows.values()) yield h.show;
  }

  versions(): Map<string, number> {
    return new Map([...this.shows.values()].map((h) => [h.show.id, h.show.version]));
  }

  /** A show known here, or else looked up in the source (made on another node moments ago). */
  async find(id: string): Promise<Show | undefined> {
    const local = this.get(id);
    if (local) return local;
    const rec = await this.source.load(id);
    if (rec) this.applyRemote(rec);
    return this.get(id);
  }

  async load(): Promise<number> {
    for (const rec of await this.source.loadAll()) this.applyRemote(rec);
    return this.shows.size;
  }

  /** Create or replace a show's definition. A new show opens a new epoch with no act on stage. */
  async put(id: string, body: PutShowBody): Promise<Show> {
    const info: ShowInfo = { id, title: body.title, acts: body.acts };
    const cur = await this.latest(id);
    const version = this.nextVersion(cur);
    let { stage, next } = cur ? stateAt(cur.stage, cur.next, version) : { stage: { act: null, open: false }, next: null };
    const inShow = (act: string | null): boolean => act === null || info.acts.some((a) => a.id === act);
    if (!inShow(stage.act)) stage = { act: null, open: false };
    if (next !== null && !inShow(next.act)) next = null;
    return this.commit(
      { show: info, stage, epoch: cur ? cur.epoch : newEpoch(), version, ...(next ? { next } : {}) },
      cur?.version ?? null,
    );
  }

  /**
   * Change the stage now (cancelling any scheduled change), or, with `at` (ms since 1970), at that
   * instant rounded up to a multiple of `tickMs` (`Show.next.at` is the effective instant).
   * Throws ShowError "bad_request" when `at` is out of bounds (stage-schedule.ts).
   */
  async setStage(id: string, stage: Stage, at?: number): Promise<Show> {
    const cur = await this.require(id);
    if (stage.act !== null && !cur.hasAct(stage.act)) throw new ShowError("unknown_act", `show ${id} has no act ${stage.act}`);
    const target: Stage = { act: stage.act, open: stage.open };
    const version = this.nextVersion(cur);
    if (at === undefined) return this.commit({ show: cur.info, stage: target, epoch: cur.epoch, version }, cur.version);
    const when = resolveInstant(at, this.clock.now(), this.tickMs);
    if ("error" in when) throw new ShowError("bad_request", when.error);
    if (when.at <= version) throw new ShowError("bad_request", `at: must be after the show's last change (${version})`);
    const next: ScheduledStage = { ...target, at: when.at };
    return this.commit(
      { show: cur.info, stage: stateAt(cur.stage, cur.next, version).stage, epoch: cur.epoch, version, next },
      cur.version,
    );
  }

  /** Start a new epoch: every total restarts from zero; old counts stay in the record. A scheduled change stays. */
  async reset(id: string): Promise<Show> {
    const cur = await this.require(id);
    const version = this.nextVersion(cur);
    const { stage, next } = stateAt(cur.stage, cur.next, version);
    return this.commit({ show: cur.info, stage, epoch: newEpoch(), version, ...(next ? { next } : {}) }, cur.version);
  }

  /** Apply a change (from this node's commit or another node's). Ignored unless newer. */
  applyRemote(rec: ShowRecord): Show | undefined {
    const now = this.clock.now();
    this.warnIfLate(rec, now);
    const cur = this.shows.get(rec.show.id);
    if (!cur) {
      const h = Show.create(rec, now);
      this.shows.set(h.show.id, h);
      this.arm(h);
      this.emit(h.show, new Set<ShowChange>(["show", "stage", "epoch", "schedule"]), {
        epoch: rec.epoch,
        stage: { act: null, open: false },
      });
      return h.show;
    }
    const diff = cur.apply(rec, now);
    if (!diff) return undefined;
    this.arm(cur);
    if (diff.changes.size > 0) this.emit(cur.show, diff.changes, diff.previous);
    return cur.show;
  }

  /** Apply every scheduled change due at the clock's now (the timers call this; so may a tick). */
  applyDue(): void {
    for (const h of this.shows.values()) this.fire(h);
  }

  /** Stop the timers (a draining node announces nothing more). */
  close(): void {
    for (const t of this.timers.values()) this.clock.clearTimer(t);
    this.timers.clear();
  }

  private fire(h: ShowHandle): void {
    const diff: ShowDiff | null = h.applyDue(this.clock.now());
    if (diff === null) return;
    this.arm(h);
    this.emit(h.show, diff.changes, diff.previous);
  }

  /** One timer per show with a scheduled change, at its instant; a timer that fires early re-arms. */
  private arm(h: ShowHandle): void {
    const id = h.show.id;
    const old = this.timers.get(id);
    if (old !== undefined) this.clock.clearTimer(old);
    this.timers.delete(id);
    const due = h.show.dueAt;
    if (due === Infinity) return;
    const timer = this.clock.setTimer(
      () => {
        this.timers.delete(id);
        if (h.show.dueAt > this.clock.now()) this.arm(h);
        else this.fire(h);
      },
      Math.max(0, due - this.clock.now()),
    );
    this.timers.set(id, timer);
  }

  private warnIfLate(rec: ShowRecord, now: number): void {
    const next = rec.next ?? null;
    const known = this.shows.get(rec.show.id)?.show.version ?? -1;
    if (next === null || next.at > now || rec.version <= known || this.log === undefined) return;
    this.log.warn("scheduled stage change heard after its instant; applied now (buzzes in between were judged by the old stage)", {
      show: rec.show.id,
      at: next.at,
      lateMs: now - next.at,
    });
  }

  /** Save `rec` if the show is still at `base` (null: absent), then apply it; else apply the current show and throw ShowConflict. */
  private async commit(rec: ShowRecord, base: number | null): Promise<Show> {
    const verdict = await this.source.save(rec, base);
    if (!verdict.ok) {
      if (verdict.current) this.applyRemote(verdict.current);
      throw new ShowConflict(rec.show.id, this.get(rec.show.id) ?? null);
    }
    this.applyRemote(rec);
    const show = this.get(rec.show.id);
    if (!show) throw new Error("unreachable: committed show missing");
    return show;
  }

  private async require(id: string): Promise<Show> {
    const s = await this.latest(id);
    if (!s) throw new ShowError("unknown_show", `no show ${id}`);
    return s;
  }

  /** The show as the deciding side of the source holds it now, applied here first: what a change is made from. */
  private async latest(id: string): Promise<Show | undefined> {
    const rec = await this.source.current(id);
    if (rec) this.applyRemote(rec);
    return this.get(id);
  }

  /**
   * Wall-clock milliseconds, forced above the base: the version doubles as the commit instant for
   * scheduled changes (stage-schedule.ts). Ties between writers cannot matter: the compare-and-swap
   * on the base lets exactly one successor of a version be saved.
   */
  private nextVersion(cur: Show | undefined): number {
    return Math.max((cur?.version ?? 0) + 1, this.clock.now());
  }

  private emit(show: Show, changes: ReadonlySet<ShowChange>, previous: PreviousState): void {
    for (const fn of this.listeners) fn(show, changes, previous);
  }
}

export const DEMO_SHOW: PutShowBody & { id: string } = {
  id: "demo",
  title: "Buzzcast Live: Demo Night",
  acts: [
    { id: "act-1", name: "The Juggling Dentists" },
    { id: "act-2", name: "Sir Reginald's Singing Tortoise" },
    { id: "act-3", name: "Backflip Brenda" },
  ],
};
