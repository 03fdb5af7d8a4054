/**
 * Where show definitions and stage state are kept, and how nodes learn of each other's changes.
 * MemoryShowSource keeps them in this process (the embedded default). The shared implementation
 * (record + dual cache) lives in shows/shared-show-source.ts.
 *
 * Versions order changes: a record with a higher version replaces a lower one everywhere; equal
 * or lower versions are ignored, so applying the same change twice is harmless.
 */
import type { ShowRecord } from "../record/record.ts";

export interface ShowSource {
  /** Every known show, at start. */
  loadAll(): Promise<ShowRecord[]>;
  /** One show, looked up on demand (a viewer asked for a show this node has not seen yet). */
  load(id: string): Promise<ShowRecord | null>;
  /** Make a change durable and visible to other nodes; resolves when durable. */
  save(rec: ShowRecord): Promise<void>;
  /** Changes made elsewhere since the last call (may include ones already seen). */
  poll(known: ReadonlyMap<string, number>): Promise<ShowRecord[]>;
}

export class MemoryShowSource implements ShowSource {
  private readonly shows = new Map<string, ShowRecord>();
  async loadAll(): Promise<ShowRecord[]> {
    return [...this.shows.values()];
  }
  async load(id: string): Promise<ShowRecord | null> {
    const r = this.shows.get(id);
    return r ? structuredClone(r) : null;
  }
  async save(rec: ShowRecord): Promise<void> {
    const have = this.shows.get(rec.show.id);
    if (!have || have.version < rec.version) this.shows.set(rec.show.id, structuredClone(rec));
  }
  async poll(): Promise<ShowRecord[]> {
    return [];
  }
}
