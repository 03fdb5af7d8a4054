/**
 * Shows shared between nodes: the record (MySQL) is the truth; memcached is the fast path that
 * other nodes poll every tick.
 *
 * Propagation bound: a change saved on one node reaches every other node at the next poll (one
 * tick, TICK_MS) while memcached is up, and within FULL_SCAN_MS (5 s) from the record otherwise
 * (memcached down, or a lost race on the show index). A node started later loads everything from
 * the record. A show unknown locally is looked up on demand when a viewer asks for it.
 *
 * Linearizable changes (show-source.ts): with MySQL the record's row lock decides every save (a
 * compare-and-swap on the version); memcached carries only changes the record accepted. Without
 * MySQL (`sharedRecord` false: each node's record is its own) the successor of a version is claimed
 * with a memcached `add` of `<prefix>:show-next:<id>:<base>` (one winner while memcached keeps the
 * key; a flush or restart of memcached within the same change can let two through).
 *
 * Failures are never silent: each is counted (`metrics()`), and each kind of outage (cache polls
 * failing, lookups failing) is logged with its reason once when it starts and once when it ends,
 * not once per tick or per viewer.
 */
import { z } from "zod";
import { ScheduledStage, ShowInfo, Stage } from "../../shared/protocol.ts";
import type { Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";
import type { Family } from "../ops/metrics.ts";
import type { Record, SaveShowResult, ShowRecord } from "../record/record.ts";
import type { ShowSource } from "./show-source.ts";

/** `next`: a scheduled stage change travels with the show (absent in entries written before it existed). */
const StoredShow = z.object({
  show: ShowInfo,
  stage: Stage,
  epoch: z.string(),
  version: z.number(),
  next: ScheduledStage.nullable().optional(),
});
const FULL_SCAN_MS = 5000;
/** How long a claimed successor of a show version is remembered in memcached (without MySQL). */
const SUCCESSOR_TTL_SEC = 7 * 24 * 3600;

/** Failures since start, by what failed. */
export interface ShowSourceErrors {
  /** Per-tick polls of the cache that failed (the next poll reads the record instead). */
  poll: number;
  /** On-demand lookups whose cache read failed (answered from the record). */
  lookup_cache: number;
  /** On-demand lookups whose record read failed (the caller gets the error). */
  lookup_record: number;
  /** Show entries in the cache that did not parse (ignored). */
  malformed: number;
}

/** Logs a failing operation once when it starts failing (with the reason) and once when it recovers. */
class OutageLog {
  private down = false;
  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}
  failed(err: unknown, fields: object = {}): void {
    if (this.down) return;
    this.down = true;
    this.log.warn(`${this.what} failing`, { err, ...fields });
  }
  ok(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info(`${this.what} recovered`);
  }
}

export class SharedShowSource implements ShowSource {
  readonly errors: ShowSourceErrors = { poll: 0, lookup_cache: 0, lookup_record: 0, malformed: 0 };
  private lastFullScan = Date.now();
  private readonly indexKey: string;
  private readonly pollOutage: OutageLog;
  private readonly cacheLookupOutage: OutageLog;
  private readonly recordLookupOutage: OutageLog;

  constructor(
    private readonly cache: Cache,
    private readonly record: Record,
    private readonly log: Logger,
    private readonly prefix = "bc",
    /** True when `record` is shared by every node (MySQL); false when it is this process's own. */
    private readonly sharedRecord = true,
  ) {
    this.indexKey = `${prefix}:shows`;
    this.pollOutage = new OutageLog(log, "show poll of the cache (falling back to the record every poll)");
    this.cacheLookupOutage = new OutageLog(log, "show lookup in the cache (asking the record)");
    this.recordLookupOutage = new OutageLog(log, "show lookup in the record");
  }

  /** Metric families for `errors`; the composition root adds them to /metrics. */
  metrics(): Family[] {
    return [
      {
        name: "buzzcast_show_source_errors_total",
        help: "Failed show reads (poll: cache poll; lookup_cache / lookup_record: on-demand lookup; malformed: unparsable cache entry).",
        kind: "counter",
        samples: (Object.keys(this.errors) as Array<keyof ShowSourceErrors>).map((op) => ({ labels: { op }, value: this.errors[op] })),
      },
    ];
  }

  private key(id: string): string {
    return `${this.prefix}:show:${id}`;
  }

  loadAll(): Promise<ShowRecord[]> {
    return this.record.listShows();
  }

  /** Rejects with the record's error (counted, and logged with its reason) when both reads fail. */
  async load(id: string): Promise<ShowRecord | null> {
    try {
      const raw = await this.cache.get(this.key(id));
      this.cacheLookupOutage.ok();
      const parsed = raw === null ? null : this.parse(raw);
      if (parsed) return parsed;
    } catch (err) {
      this.errors.lookup_cache++;
      this.cacheLookupOutage.failed(err, { show: id });
    }
    try {
      const rec = await this.record.loadShow(id);
      this.recordLookupOutage.ok();
      return rec;
    } catch (err) {
      this.errors.lookup_record++;
      this.recordLookupOutage.failed(err, { show: id });
      throw err;
    }
  }

  /** With a shared record, the record itself (the cache may lag a change); else the cache, then this node's record. */
  async current(id: string): Promise<ShowRecord | null> {
    return this.sharedRecord ? this.record.loadShow(id) : this.load(id);
  }

  /** Decided and durable first (a compare-and-swap in the record, or the successor claim), then published for the other nodes. */
  async save(rec: ShowRecord, base: number | null): Promise<SaveShowResult> {
    if (this.sharedRecord) {
      const verdict = await this.record.saveShow(rec, base);
      if (!verdict.ok) return verdict;
    } else {
      const claim = `${this.prefix}:show-next:${rec.show.id}:${base === null ? "new" : String(base)}`;
      // The claim carries the change itself: a loser learns the winner's show even before it is published.
      if (!(await this.cache.add(claim, JSON.stringify(rec), SUCCESSOR_TTL_SEC))) {
        const raw = await this.cache.get(claim);
        return { ok: false, current: (raw === null ? null : this.parse(raw)) ?? (await this.load(rec.show.id)) };
      }
      await this.record.saveShow(rec);
    }
    try {
      // A later change of the show may have been published first (its writer was faster): never
      // overwrite it with this older one. (Not atomic: a publish racing within this get-then-set
      // can still leave the older one, which other nodes ignore or replace at the full scan.)
      const cachedRaw = await this.cache.get(this.key(rec.show.id));
      const cached = cachedRaw === null ? null : this.parse(cachedRaw);
      if (cached === null || cached.version < rec.version) await this.cache.set(this.key(rec.show.id), JSON.stringify(rec));
      const raw = await this.cache.get(this.indexKey);
      const ids = new Set<string>(raw ? (JSON.parse(raw) as string[]) : []);
      if (!ids.has(rec.show.id)) {
        ids.add(rec.show.id);
        await this.cache.set(this.indexKey, JSON.stringify([...ids]));
      }
    } catch (err) {
      this.log.warn("show saved to the record but not published to the cache; other nodes see it within the full-scan interval", {
        err,
        show: rec.show.id,
      });
    }
    return { ok: true };
  }

  async poll(known: ReadonlyMap<string, number>): Promise<ShowRecord[]> {
    if (Date.now() - this.lastFullScan >= FULL_SCAN_MS) {
      this.lastFullScan = Date.now();
      return (await this.record.listShows()).filter((r) => r.version > (known.get(r.show.id) ?? -1));
    }
    let got: Map<string, string>;
    try {
      got = await this.cache.getMany([this.indexKey, ...[...known.keys()].map((id) => this.key(id))]);
    } catch (err) {
      this.errors.poll++;
      this.pollOutage.failed(err);
      this.lastFullScan = 0; // fall back to the record on the next poll
      return [];
    }
    this.pollOutage.ok();
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
      if (r.success) {
        const { next, ...rec } = r.data;
        return next ? { ...rec, next } : rec;
      }
    } catch {
      // not JSON: reported below with the schema failures
    }
    this.errors.malformed++;
    this.log.error("malformed show in cache; ignored", { raw: raw.slice(0, 200) });
    return null;
  }
}
