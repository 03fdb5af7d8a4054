/**
 * Shows shared through the record alone: save writes the record, poll reads every show back.
 * The harness's nodes learn each other's changes through it (over their faulty record link), so
 * producer changes race exactly where the record decides between them.
 */
import type { Record, SaveShowResult, ShowRecord } from "../../server/record/record.ts";
import type { ShowSource } from "../../server/shows/show-source.ts";

export class RecordShowSource implements ShowSource {
  constructor(private readonly record: Record) {}
  loadAll(): Promise<ShowRecord[]> {
    return this.record.listShows();
  }
  load(id: string): Promise<ShowRecord | null> {
    return this.record.loadShow(id);
  }
  current(id: string): Promise<ShowRecord | null> {
    return this.record.loadShow(id);
  }
  /** A compare-and-swap in the record: of several changes made from `base`, one is stored. */
  save(rec: ShowRecord, base: number | null): Promise<SaveShowResult> {
    return this.record.saveShow(rec, base);
  }
  async poll(known: ReadonlyMap<string, number>): Promise<ShowRecord[]> {
    return (await this.record.listShows()).filter((r) => r.version > (known.get(r.show.id) ?? -1));
  }
}
