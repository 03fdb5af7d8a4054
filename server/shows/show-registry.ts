/**
 * All shows this process serves, and the only code that changes them. Changes (create/edit, stage,
 * reset) are made durable through the ShowSource first, then applied here and announced to
 * listeners, synchronously and in registration order (counting retires tallies, the broadcast hub
 * publishes stage and show frames). Changes from other nodes arrive through `applyRemote` (polled by
 * node.ts).
 *
 * Ordering: per show, versions only increase; a change is applied only if its version is newer.
 */
import type { PutShowBody, Stage, ShowInfo } from "../../shared/protocol.ts";
import type { ShowRecord } from "../record/record.ts";
import { Show, newEpoch, type PreviousState, type ShowChange, type ShowHandle } from "./show.ts";
import type { ShowSource } from "./show-source.ts";

export type { PreviousState, ShowChange } from "./show.ts";
export type ShowListener = (show: Show, changes: ReadonlySet<ShowChange>, previous: PreviousState) => void;

export class ShowError extends Error {
  constructor(
    readonly code: "unknown_show" | "unknown_act",
    message: string,
  ) {
    super(message);
    this.name = "ShowError";
  }
}

export class ShowRegistry {
  private readonly shows = new Map<string, ShowHandle>();
  private readonly listeners: ShowListener[] = [];

  constructor(private readonly source: ShowSource) {}

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
    const cur = await this.find(id);
    let stage: Stage = cur ? cur.stage : { act: null, open: false };
    if (stage.act !== null && !info.acts.some((a) => a.id === stage.act)) stage = { act: null, open: false };
    return this.commit({ show: info, stage, epoch: cur ? cur.epoch : newEpoch(), version: this.nextVersion(cur) });
  }

  async setStage(id: string, stage: Stage): Promise<Show> {
    const cur = await this.require(id);
    if (stage.act !== null && !cur.hasAct(stage.act)) throw new ShowError("unknown_act", `show ${id} has no act ${stage.act}`);
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
    if (!cur) {
      const h = Show.create(rec);
      this.shows.set(h.show.id, h);
      this.emit(h.show, new Set<ShowChange>(["show", "stage", "epoch"]), { epoch: rec.epoch, stage: { act: null, open: false } });
      return h.show;
    }
    const diff = cur.apply(rec);
    if (!diff) return undefined;
    if (diff.changes.size > 0) this.emit(cur.show, diff.changes, diff.previous);
    return cur.show;
  }

  private async commit(rec: ShowRecord): Promise<Show> {
    await this.source.save(rec);
    this.applyRemote(rec);
    const show = this.get(rec.show.id);
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
