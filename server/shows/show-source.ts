/**
 * Where show definitions and stage state are kept, and how nodes learn of each other's changes.
 * MemoryShowSource keeps them in this process (the embedded default), in a ShowBook (the workers'
 * supervisor keeps its one copy in one too). The shared implementation
 * (record + dual cache) lives in shows/shared-show-source.ts.
 *
 * Versions order changes: a record with a higher version replaces a lower one everywhere; equal
 * or lower versions are ignored, so applying the same change twice is harmless.
 *
 * Linearizable changes: `save` is a compare-and-swap on the version the change was made from
 * (`base`), decided by the one place every writer of the show goes through (the record's row lock,
 * the supervisor's ShowBook, this process's ShowBook). Of several changes made from one version exactly one
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

/**
 * Shows held in memory by the side that decides their changes: this process alone
 * (MemoryShowSource) or the workers' supervisor (cluster/supervisor.ts). The one in-memory holder
 * of the compare-and-swap rule (`casVerdict`): `save` decides and applies a change synchronously,
 * in the call, so two changes handed to it can never interleave.
 */
export class ShowBook {
  private readonly shows = new Map<string, ShowRecord>();

  /** Store `rec` if the held version is still `base` (null: no show yet); refused: the held show. */
  save(rec: ShowRecord, base: number | null): SaveShowResult {
    const verdict = casVerdict(this.shows.get(rec.show.id) ?? null, rec, base);
    if (verdict.ok) this.shows.set(rec.show.id, structuredClone(rec));
    return verdict;
  }

  get(id: string): ShowRecord | null {
    const r = this.shows.get(id);
    return r ? structuredClone(r) : null;
  }

  all(): ShowRecord[] {
    return [...this.shows.values()].map((r) => structuredClone(r));
  }
}

export class MemoryShowSource implements ShowSource {
  private readonly book = new ShowBook();
  async loadAll(): Promise<ShowRecord[]> {
    return this.book.all();
  }
  async load(id: string): Promise<ShowRecord | null> {
    return this.book.get(id);
  }
  current(id: string): Promise<ShowRecord | null> {
    return this.load(id);
  }
  async save(rec: ShowRecord, base: number | null): Promise<SaveShowResult> {
    return this.book.save(rec, base);
  }
  async poll(): Promise<ShowRecord[]> {
    return [];
  }
}

/**
 * The compare-and-swap rule (record/normalize.ts `casAccepts`, the record's rule too) for a holder
 * of shows in memory (ShowBook): `rec` replaces `have` only if `have`'s version is exactly `base`
 * (null: no show yet) and `rec` is newer; refused, the answer carries `have`.
 */
function casVerdict(have: ShowRecord | null, rec: ShowRecord, base: number | null): SaveShowResult {
  if (casAccepts(have?.version ?? null, rec.version, base)) return { ok: true };
  return { ok: false, current: have === null ? null : structuredClone(have) };
}
