/**
 * All shows this process serves. Changes (create/edit, stage, reset) are made durable through the
 * ShowSource first, then applied here and announced to listeners (the transport publishes stage
 * and show frames). Changes from other nodes arrive through `applyRemote` (polled by main).
 *
 * Ordering: per show, versions only increase; a change is applied only if its version is newer.
 */
import type { PutShowBody, Stage, ShowInfo } from "../../shared/protocol.ts";
import type { ShowRecord } from "../record/record.ts";
import { Show, newEpoch, zeroTotals } from "./show.ts";
import type { ShowSource } from "./show-source.ts";
import { Tally } from "../counting/tally.ts";

export type ShowChange = "show" | "stage" | "epoch";
/** What the show was before the change (for a new show: its initial state). */
export interface PreviousState {
  epoch: string;
  stage: Stage;
}
export type ShowListener = (show: Show, changes: ReadonlySet<ShowChange>, previous: PreviousState) => void;

export class ShowError extends Error {
  constructor(readonly code: "unknown_show" | "unknown_act", message: string) {
    super(message);
    this.name = "ShowError";
  }
}

export class ShowRegistry {
  private readonly shows = new Map<string, Show>();
  /** Tallies of epochs replaced by a reset; drained once more by the tick loop, then dropped. */
  private retired: Tally[] = [];
  private readonly listeners: ShowListener[] = [];

  constructor(private readonly source: ShowSource) {}

  onChange(fn: ShowListener): void {
    this.listeners.push(fn);
  }

  get(id: string): Show | undefined {
    return this.shows.get(id);
  }

  all(): IterableIterator<Show> {
    return this.shows.values();
  }

  versions(): Map<string, number> {
    return new Map([...this.shows.values()].map((s) => [s.id, s.version]));
  }

  takeRetired(): Tally[] {
    const r = this.retired;
    this.retired = [];
    return r;
  }

  /** A show known here, or else looked up in the source (made on another node moments ago). */
  async find(id: string): Promise<Show | undefined> {
    const local = this.shows.get(id);
    if (local) return local;
    const rec = await this.source.load(id);
    if (rec) this.applyRemote(rec);
    return this.shows.get(id);
  }

  async load(): Promise<number> {
    for (const rec of await this.source.loadAll()) this.applyRemote(rec);
    return this.shows.size;
  }

  /** Create or replace a show's definition. A new show opens a new epoch with no act on stage. */
  async put(id: string, body: PutShowBody): Promise<Show> {
    const info: ShowInfo = { id, title: body.title, acts: body.acts };
    const cur = await this.find(id);
    let stage: Stage = cur ? cur.stage : { act: null, open: false };
    if (stage.act !== null && !info.acts.some((a) => a.id === stage.act)) stage = { act: null, open: false };
    return this.commit({ show: info, stage, epoch: cur ? cur.epoch : newEpoch(), version: this.nextVersion(cur) });
  }

  async setStage(id: string, stage: Stage): Promise<Show> {
    const cur = await this.require(id);
    if (stage.act !== null && !cur.actIds.has(stage.act)) throw new ShowError("unknown_act", `show ${id} has no act ${stage.act}`);
    return this.commit({ show: cur.info, stage, epoch: cur.epoch, version: this.nextVersion(cur) });
  }

  /** Start a new epoch: every total restarts from zero; old counts stay in the record. */
  async reset(id: string): Promise<Show> {
    const cur = await this.require(id);
    return this.commit({ show: cur.info, stage: cur.stage, epoch: newEpoch(), version: this.nextVersion(cur) });
  }

  /** Apply a change (from this node's commit or another node's). Ignored unless newer. */
  applyRemote(rec: ShowRecord): Show | undefined {
    const cur = this.shows.get(rec.show.id);
    if (cur && cur.version >= rec.version) return undefined;
    if (!cur) {
      const show = new Show(rec.show, rec.stage, rec.epoch, rec.version);
      this.shows.set(show.id, show);
      this.emit(show, new Set<ShowChange>(["show", "stage", "epoch"]), { epoch: rec.epoch, stage: { act: null, open: false } });
      return show;
    }
    const changes = new Set<ShowChange>();
    const previous: PreviousState = { epoch: cur.epoch, stage: cur.stage };
    if (JSON.stringify(cur.info) !== JSON.stringify(rec.show)) changes.add("show");
    if (cur.stage.act !== rec.stage.act || cur.stage.open !== rec.stage.open) changes.add("stage");
    if (cur.epoch !== rec.epoch) changes.add("epoch");
    cur.info = rec.show;
    cur.actIds = new Set(rec.show.acts.map((a) => a.id));
    cur.stage = rec.stage;
    cur.version = rec.version;
    if (changes.has("epoch")) {
      this.retired.push(cur.tally);
      cur.epoch = rec.epoch;
      cur.epochKey = `${cur.id}/${rec.epoch}`;
      cur.tally = new Tally(cur.id, rec.epoch);
      cur.totals = zeroTotals(rec.show);
    } else if (changes.has("show")) {
      for (const a of rec.show.acts) cur.totals[a.id] ??= 0;
    }
    cur.welcomeCache = null;
    if (changes.size > 0) this.emit(cur, changes, previous);
    return cur;
  }

  private async commit(rec: ShowRecord): Promise<Show> {
    await this.source.save(rec);
    this.applyRemote(rec);
    const show = this.shows.get(rec.show.id);
    if (!show) throw new Error("unreachable: committed show missing");
    return show;
  }

  private async require(id: string): Promise<Show> {
    const s = await this.find(id);
    if (!s) throw new ShowError("unknown_show", `no show ${id}`);
    return s;
  }

  /** Versions are wall-clock milliseconds, forced to increase, so changes made on different nodes order by time. */
  private nextVersion(cur: Show | undefined): number {
    return Math.max((cur?.version ?? 0) + 1, Date.now());
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
