/**
 * The live definition of one show in this process: info (title, acts), stage, epoch, version.
 *
 * Ownership: a Show is read-only to everyone; the only way to change one is the `apply` handle that
 * `Show.create` returns, which the ShowRegistry keeps to itself. Per-epoch state elsewhere (tallies,
 * the `once` policy, store counters, published totals) is keyed by `epochKey`, which is always
 * `epochKey(id, epoch)` for the current epoch (shows/epoch-key.ts).
 */
import type { ShowInfo, Stage } from "../../shared/protocol.ts";
import type { ShowRecord } from "../record/record.ts";
import { epochKey } from "./epoch-key.ts";

export type ShowChange = "show" | "stage" | "epoch";

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
  /** Replace the state with `rec` when it is newer; null when it is not (nothing changed). */
  apply(rec: ShowRecord): ShowDiff | null;
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

  private constructor(rec: ShowRecord) {
    this.id = rec.show.id;
    this.topic = `show/${rec.show.id}`;
    this.#info = rec.show;
    this.#stage = rec.stage;
    this.#epoch = rec.epoch;
    this.#epochKey = epochKey(rec.show.id, rec.epoch);
    this.#version = rec.version;
    this.#actIds = new Set(rec.show.acts.map((a) => a.id));
  }

  /** A new show and its handle; only the registry calls this. */
  static create(rec: ShowRecord): ShowHandle {
    const show = new Show(rec);
    return { show, apply: (next) => show.#apply(next) };
  }

  get info(): ShowInfo {
    return this.#info;
  }
  get stage(): Stage {
    return this.#stage;
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

  /** True when a buzz for `act` may count now. */
  votingOpen(act: string): boolean {
    return this.#stage.open && this.#stage.act === act;
  }

  #apply(rec: ShowRecord): ShowDiff | null {
    if (rec.show.id !== this.id) throw new Error(`record of show ${rec.show.id} applied to show ${this.id}`);
    if (this.#version >= rec.version) return null;
    const previous: PreviousState = { epoch: this.#epoch, stage: this.#stage };
    const changes = new Set<ShowChange>();
    if (JSON.stringify(this.#info) !== JSON.stringify(rec.show)) changes.add("show");
    if (this.#stage.act !== rec.stage.act || this.#stage.open !== rec.stage.open) changes.add("stage");
    if (this.#epoch !== rec.epoch) changes.add("epoch");
    this.#info = rec.show;
    this.#actIds = new Set(rec.show.acts.map((a) => a.id));
    this.#stage = rec.stage;
    this.#version = rec.version;
    if (changes.has("epoch")) {
      this.#epoch = rec.epoch;
      this.#epochKey = epochKey(this.id, rec.epoch);
    }
    return { changes, previous };
  }
}

export function newEpoch(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
