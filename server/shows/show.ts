/**
 * The live definition of one show in this process: info (title, acts), stage, epoch, version.
 *
 * Ownership: a Show is read-only to everyone; the only way to change one is the `apply` handle that
 * `Show.create` returns, which the ShowRegistry keeps to itself. Per-epoch state elsewhere (tallies,
 * the `once` policy, store counters, published totals) is keyed by `epochKey`, which is always
 * `epochKey(id, epoch)` for the current epoch (shows/epoch-key.ts).
 */
import type { ScheduledStage, ShowInfo, Stage } from "../../shared/protocol.ts";
import type { ShowRecord } from "../record/record.ts";
import { epochKey } from "./epoch-key.ts";
import { sameScheduled, sameStage, stateAt } from "./stage-schedule.ts";

/** "schedule": the pending scheduled stage change (`Show.next`) was set, replaced, cancelled or applied. */
export type ShowChange = "show" | "stage" | "epoch" | "schedule";

/** What the show was before a change (for a new show: its initial state, no act on stage). */
export interface PreviousState {
  epoch: string;
  stage: Stage;
}

export interface ShowDiff {
  changes: ReadonlySet<ShowChange>;
  previous: PreviousState;
}

/** The registry's handle on a show: the Show, and the one function that changes it. */
export interface ShowHandle {
  readonly show: Show;
  /**
   * Replace the state with `rec` when it is newer; null when it is not (nothing changed). A
   * scheduled change already due at `nowMs` (it arrived late) is applied at once.
   */
  apply(rec: ShowRecord, nowMs?: number): ShowDiff | null;
  /** Apply the scheduled change if it is due at `nowMs`; null when none is (the version is unchanged). */
  applyDue(nowMs: number): ShowDiff | null;
}

export class Show {
  readonly id: string;
  /** The uWS pub/sub topic of the show's viewers. */
  readonly topic: string;
  #info: ShowInfo;
  #stage: Stage;
  #epoch: string;
  #epochKey: string;
  #version: number;
  #actIds: ReadonlySet<string>;
  #next: ScheduledStage | null;
  /** `#next.at`, or Infinity: the one number a buzz compares its receipt time with. */
  #dueAt: number;

  private constructor(rec: ShowRecord, nowMs: number) {
    this.id = rec.show.id;
    this.topic = `show/${rec.show.id}`;
    this.#info = rec.show;
    const s = stateAt(rec.stage, rec.next ?? null, nowMs);
    this.#stage = s.stage;
    this.#next = s.next;
    this.#dueAt = s.next === null ? Infinity : s.next.at;
    this.#epoch = rec.epoch;
    this.#epochKey = epochKey(rec.show.id, rec.epoch);
    this.#version = rec.version;
    this.#actIds = new Set(rec.show.acts.map((a) => a.id));
  }

  /** A new show and its handle; only the registry calls this (with its clock; unit tests may omit it). */
  static create(rec: ShowRecord, nowMs = Date.now()): ShowHandle {
    const show = new Show(rec, nowMs);
    return { show, apply: (next, now = Date.now()) => show.#apply(next, now), applyDue: (now) => show.#applyDue(now) };
  }

  get info(): ShowInfo {
    return this.#info;
  }
  /** The stage as applied in this process (a scheduled change is applied by the registry's timer). */
  get stage(): Stage {
    return this.#stage;
  }
  /** The stage change scheduled for later, or null. */
  get next(): ScheduledStage | null {
    return this.#next;
  }
  /** The instant of the scheduled change (ms since 1970), Infinity when none: read the clock per buzz only when finite. */
  get dueAt(): number {
    return this.#dueAt;
  }
  get epoch(): string {
    return this.#epoch;
  }
  /** `epochKey(id, epoch)` of the current epoch, computed once per epoch. */
  get epochKey(): string {
    return this.#epochKey;
  }
  get version(): number {
    return this.#version;
  }

  /** True when `act` is part of the current definition. */
  hasAct(act: string): boolean {
    return this.#actIds.has(act);
  }

  /**
   * True when a buzz for `act` received at `nowMs` may count. By the schedule, not by the timer: a
   * buzz received at or after the scheduled instant is judged by the scheduled stage even when the
   * timer has not applied it yet. One comparison when nothing is scheduled (`dueAt` is Infinity;
   * callers may then pass 0 without reading the clock).
   */
  votingOpen(act: string, nowMs: number): boolean {
    const s = nowMs >= this.#dueAt ? (this.#next as Stage) : this.#stage;
    return s.open && s.act === act;
  }

  #apply(rec: ShowRecord, nowMs: number): ShowDiff | null {
    if (rec.show.id !== this.id) throw new Error(`record of show ${rec.show.id} applied to show ${this.id}`);
    if (this.#version >= rec.version) return null;
    const previous: PreviousState = { epoch: this.#epoch, stage: this.#stage };
    const changes = new Set<ShowChange>();
    const s = stateAt(rec.stage, rec.next ?? null, nowMs);
    if (JSON.stringify(this.#info) !== JSON.stringify(rec.show)) changes.add("show");
    if (!sameStage(this.#stage, s.stage)) changes.add("stage");
    if (!sameScheduled(this.#next, s.next)) changes.add("schedule");
    if (this.#epoch !== rec.epoch) changes.add("epoch");
    this.#info = rec.show;
    this.#actIds = new Set(rec.show.acts.map((a) => a.id));
    this.#stage = s.stage;
    this.#setNext(s.next);
    this.#version = rec.version;
    if (changes.has("epoch")) {
      this.#epoch = rec.epoch;
      this.#epochKey = epochKey(this.id, rec.epoch);
    }
    return { changes, previous };
  }

  #applyDue(nowMs: number): ShowDiff | null {
    if (nowMs < this.#dueAt) return null;
    const previous: PreviousState = { epoch: this.#epoch, stage: this.#stage };
    const s = stateAt(this.#stage, this.#next, nowMs);
    const changes = new Set<ShowChange>(["schedule"]);
    if (!sameStage(this.#stage, s.stage)) changes.add("stage");
    this.#stage = s.stage;
    this.#setNext(s.next);
    return { changes, previous };
  }

  #setNext(next: ScheduledStage | null): void {
    this.#next = next;
    this.#dueAt = next === null ? Infinity : next.at;
  }
}

export function newEpoch(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
