/**
 * Where show definitions and stage state are kept, and how nodes learn of each other's changes.
 * MemoryShowSource keeps them in this process (the embedded default). The shared implementation
 * (record + dual cache) lives in shows/shared-show-source.ts.
 *
 * Versions order changes: a record with a higher version replaces a lower one everywhere; equal
 * or lower versions are ignored, so applying the same change twice is harmless.
 *
 * Linearizable changes: `save` is a compare-and-swap on the version the change was made from
 * (`base`), decided by the one place every writer of the show goes through (the record's row lock,
 * the supervisor's map, this process's map). Of several changes made from one version exactly one
 * is stored; each other one is refused with the current show and must be applied nowhere. So the
 * stored versions of a show form one chain and no two different states ever carry one version.
 */
import { casAccepts } from "../record/normalize.ts";
import type { SaveShowResult, ShowRecord } from "../record/record.ts";

export interface ShowSource {
  /** Every known show, at start. */
  loadAll(): Promise<ShowRecord[]>;
  /** One show, looked up on demand (a viewer asked for a show this node has not seen yet). */
  load(id: string): Promise<ShowRecord | null>;
  /**
   * The show as the deciding side of `save` holds it now (not a cache that may lag): what a change
   * is made from, so a process that has not heard of the last change yet does not lose to it.
   */
  current(id: string): Promise<ShowRecord | null>;
  /**
   * Store `rec` if the stored version is still `base` (null: the show does not exist), then make it
   * visible to other processes; resolves when durable. Refused: `{ok: false, current}`, nothing
   * stored or published.
   */
  save(rec: ShowRecord, base: number | null): Promise<SaveShowResult>;
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
  current(id: string): Promise<ShowRecord | null> {
    return this.load(id);
  }
  async save(rec: ShowRecord, base: number | null): Promise<SaveShowResult> {
    const have = this.shows.get(rec.show.id) ?? null;
    const verdict = casVerdict(have, rec, base);
    if (verdict.ok) this.shows.set(rec.show.id, structuredClone(rec));
    return verdict;
  }
  async poll(): Promise<ShowRecord[]> {
    return [];
  }
}

/**
 * The compare-and-swap rule (record/normalize.ts `casAccepts`, the record's rule too) for a holder
 * of shows in memory (this process, the supervisor): `rec` replaces `have` only if `have`'s version
 * is exactly `base` (null: no show yet) and `rec` is newer; refused, the answer carries `have`.
 */
export function casVerdict(have: ShowRecord | null, rec: ShowRecord, base: number | null): SaveShowResult {
  if (casAccepts(have?.version ?? null, rec.version, base)) return { ok: true };
  return { ok: false, current: have === null ? null : structuredClone(have) };
}
