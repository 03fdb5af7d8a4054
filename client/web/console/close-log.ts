/**
 * When voting closed for each act, as this console saw it happen: a close is a live stage change
 * from "act X open" to anything else (voting closed, another act on stage, stage cleared). Times are
 * this browser's clock at the moment the console heard the change (within the propagation bound of
 * the producer's action, docs/architecture.md). Kept per show epoch in localStorage, so a reload or
 * a second console tab keeps them; a new epoch (reset) starts empty and drops the show's older ones.
 * Not recorded: closes that happened while no console was connected (a reconnect's snapshot is not
 * a transition). Re-opening an act removes its close time until it closes again.
 */
import type { Stage } from "../../../shared/protocol.ts";

const PREFIX = "buzzcast.closes.";

export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

export class CloseLog {
  #key: string | null = null;
  #closes = new Map<string, number>();
  #prev: Stage | null = null;

  constructor(private readonly storage: StorageLike | null) {}

  /** Close times of the current epoch: act -> ms since 1970. */
  get closes(): ReadonlyMap<string, number> {
    return this.#closes;
  }

  /** The act that closed last, or null. */
  get lastClosed(): { act: string; at: number } | null {
    let best: { act: string; at: number } | null = null;
    for (const [act, at] of this.#closes) if (best === null || at >= best.at) best = { act, at };
    return best;
  }

  /** Switch to a show epoch (a show opened, or a reset); the next stage is then a snapshot, not a change. Same epoch: no-op. */
  open(show: string, epoch: string): void {
    const key = `${PREFIX}${show}.${epoch}`;
    if (key === this.#key) return;
    this.#prev = null;
    this.#key = key;
    this.#closes = new Map(Object.entries(this.#read(key)));
    this.#dropOtherEpochs(`${PREFIX}${show}.`, key);
  }

  /** A snapshot follows (reconnect): it is not a transition. */
  resync(): void {
    this.#prev = null;
  }

  /** A stage as heard; returns the act whose voting just closed, or null. */
  observe(stage: Stage, nowMs: number): string | null {
    const prev = this.#prev;
    this.#prev = { ...stage };
    if (stage.open && stage.act !== null && this.#closes.delete(stage.act)) this.#save();
    if (prev === null || !prev.open || prev.act === null) return null;
    if (stage.open && stage.act === prev.act) return null;
    this.#closes.set(prev.act, nowMs);
    this.#save();
    return prev.act;
  }

  #read(key: string): Record<string, number> {
    try {
      const raw = this.storage?.getItem(key);
      const parsed: unknown = raw ? JSON.parse(raw) : {};
      const out: Record<string, number> = {};
      if (parsed !== null && typeof parsed === "object")
        for (const [act, at] of Object.entries(parsed)) if (typeof at === "number" && Number.isFinite(at)) out[act] = at;
      return out;
    } catch (err) {
      console.warn("buzzcast: close times unreadable; starting empty", err);
      return {};
    }
  }

  #save(): void {
    if (this.#key === null || this.storage === null) return;
    try {
      this.storage.setItem(this.#key, JSON.stringify(Object.fromEntries(this.#closes)));
    } catch (err) {
      console.warn("buzzcast: close times not saved (storage full or unavailable)", err);
    }
  }

  #dropOtherEpochs(prefix: string, keep: string): void {
    if (this.storage === null) return;
    try {
      const stale: string[] = [];
      for (let i = 0; i < this.storage.length; i++) {
        const k = this.storage.key(i);
        if (k !== null && k.startsWith(prefix) && k !== keep) stale.push(k);
      }
      for (const k of stale) this.storage.removeItem(k);
    } catch (err) {
      console.warn("buzzcast: old close times not removed", err);
    }
  }
}
