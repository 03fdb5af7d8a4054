/**
 * Shows shared between nodes: the record (MySQL) is the truth; memcached is the fast path that
 * other nodes poll every tick.
 *
 * Propagation bound: a change saved on one node reaches every other node at the next poll (one
 * tick, TICK_MS) while memcached is up, and within FULL_SCAN_MS (5 s) from the record otherwise
 * (memcached down, or a lost race on the show index). A node started later loads everything from
 * the record. A show unknown locally is looked up on demand when a viewer asks for it.
 */
import { z } from "zod";
import { ShowInfo, Stage } from "../../shared/protocol.ts";
import type { Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Record, ShowRecord } from "../record/record.ts";
import type { ShowSource } from "./show-source.ts";

const StoredShow = z.object({ show: ShowInfo, stage: Stage, epoch: z.string(), version: z.number() });
const FULL_SCAN_MS = 5000;

export class SharedShowSource implements ShowSource {
  private lastFullScan = Date.now();
  private readonly indexKey: string;

  constructor(
    private readonly cache: Cache,
    private readonly record: Record,
    private readonly log: Logger,
    private readonly prefix = "bc",
  ) {
    this.indexKey = `${prefix}:shows`;
  }

  private key(id: string): string {
    return `${this.prefix}:show:${id}`;
  }

  loadAll(): Promise<ShowRecord[]> {
    return this.record.listShows();
  }

  async load(id: string): Promise<ShowRecord | null> {
    try {
      const raw = await this.cache.get(this.key(id));
      const parsed = raw === null ? null : this.parse(raw);
      if (parsed) return parsed;
    } catch (err) {
      this.log.warn("show lookup in cache failed; asking the record", { err, show: id });
    }
    return this.record.loadShow(id);
  }

  /** Durable first (the record refuses an older version), then published for the other nodes. */
  async save(rec: ShowRecord): Promise<void> {
    await this.record.saveShow(rec);
    try {
      await this.cache.set(this.key(rec.show.id), JSON.stringify(rec));
      const raw = await this.cache.get(this.indexKey);
      const ids = new Set<string>(raw ? (JSON.parse(raw) as string[]) : []);
      if (!ids.has(rec.show.id)) {
        ids.add(rec.show.id);
        await this.cache.set(this.indexKey, JSON.stringify([...ids]));
      }
    } catch (err) {
      this.log.warn("show saved to the record but not published to the cache; other nodes see it within the full-scan interval", { err, show: rec.show.id });
    }
  }

  async poll(known: ReadonlyMap<string, number>): Promise<ShowRecord[]> {
    if (Date.now() - this.lastFullScan >= FULL_SCAN_MS) {
      this.lastFullScan = Date.now();
      return (await this.record.listShows()).filter((r) => r.version > (known.get(r.show.id) ?? -1));
    }
    let got: Map<string, string>;
    try {
      got = await this.cache.getMany([this.indexKey, ...[...known.keys()].map((id) => this.key(id))]);
    } catch {
      this.lastFullScan = 0; // fall back to the record on the next poll
      return [];
    }
    const out: ShowRecord[] = [];
    for (const [id, version] of known) {
      const raw = got.get(this.key(id));
      const rec = raw === undefined ? null : this.parse(raw);
      if (rec && rec.version > version) out.push(rec);
    }
    const index = got.get(this.indexKey);
    if (index) {
      for (const id of JSON.parse(index) as string[]) {
        if (known.has(id)) continue;
        const rec = await this.load(id);
        if (rec) out.push(rec);
      }
    }
    return out;
  }

  private parse(raw: string): ShowRecord | null {
    try {
      const r = StoredShow.safeParse(JSON.parse(raw));
      if (r.success) return r.data;
    } catch {
      // fall through
    }
    this.log.error("malformed show in cache; ignored", { raw: raw.slice(0, 200) });
    return null;
  }
}
