/**
 * The embedded default record: everything in this process's memory, same semantics as
 * MysqlRecord (batch idempotency by per-node seq, newer-version-wins shows, stage history).
 * Guarantees: every method applies atomically (no await inside a mutation). Durability: none,
 * everything is lost when the process exits; it is meant for a single node without MYSQL_URL.
 */
import { checkCloseLock } from "./close-lock-rules.ts";
import { checkLease } from "./lease-rules.ts";
import { checkShowRecord, historyRow, mayReplace, normalizeBatch } from "./normalize.ts";
import { checkOnAir, checkSecret, compareOnAir } from "./proof-rules.ts";
import {
  bucketOf,
  checkClaimEpoch,
  checkInterval,
  checkLimit,
  compareCursorKeys,
  decodeCursor,
  normalizeAudit,
  page,
  type CursorKey,
} from "./audit-rules.ts";
import {
  RecordError,
  type AuditCursor,
  type AuditEntry,
  type AuditRow,
  type CountBatch,
  type OnAirTotal,
  type PersistOutcome,
  type Record,
  type LeaseVerdict,
  type SaveShowResult,
  type ShowRecord,
  type StageChange,
} from "./record.ts";

type StoredAudit = CursorKey & { count: number };

/** show -> epoch -> act -> node -> count */
type CountTree = Map<string, Map<string, Map<string, Map<string, number>>>>;

function child<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function copyShow(r: ShowRecord): ShowRecord {
  return {
    show: { id: r.show.id, title: r.show.title, acts: r.show.acts.map((a) => ({ id: a.id, name: a.name })) },
    stage: { act: r.stage.act, open: r.stage.open },
    epoch: r.epoch,
    version: r.version,
    ...(r.next ? { next: { act: r.next.act, open: r.next.open, at: r.next.at } } : {}),
  };
}

export class MemoryRecord implements Record {
  private readonly counts: CountTree = new Map();
  private readonly lastSeq = new Map<string, number>();
  private readonly shows = new Map<string, ShowRecord>();
  private readonly history = new Map<string, StageChange[]>();
  /** epochKey-like JSON [show, epoch] -> `once` rows by JSON [act, viewer]. */
  private readonly onceRows = new Map<string, Map<string, StoredAudit>>();
  /** JSON [show, epoch] -> `unlimited` rows. */
  private readonly intervalRows = new Map<string, StoredAudit[]>();
  private readonly claimEpochs = new Set<string>();
  /** JSON [show, epoch] -> node -> its registration as a cache decider (claim-cache rules in record.ts). */
  private readonly cacheDeciders = new Map<string, Map<string, { left: boolean }>>();
  /** JSON [show, epoch] of epochs in record mode. */
  private readonly recordModeEpochs = new Set<string>();
  /** JSON [show, epoch, act, node] -> the latest on-air row. */
  private readonly onAir = new Map<string, OnAirTotal>();
  private readonly secrets = new Map<string, Buffer>();
  /** JSON [show, epoch, version] of a close -> the token holding its reconciliation lock (never removed). */
  private readonly closeLocks = new Map<string, string>();
  /** node -> its lease; and the node ids whose lease was taken through this object (fenced). */
  private readonly leaseRows = new Map<string, { holder: string; expiresAt: number }>();
  private readonly fenced = new Map<string, string>();
  private closed = false;

  private open(): void {
    if (this.closed) throw new RecordError("unreachable", "record is closed");
  }

  async migrate(): Promise<void> {
    this.open();
  }

  async persistCounts(batch: CountBatch): Promise<PersistOutcome> {
    this.open();
    const rows = normalizeBatch(batch);
    const audit = normalizeAudit(batch, rows);
    const mine = this.fenced.get(batch.node);
    if (mine !== undefined && this.leaseRows.get(batch.node)?.holder !== mine) {
      throw new RecordError("lease", `node ${batch.node}'s lease is held by another process: batch refused`);
    }
    if (batch.batchSeq <= (this.lastSeq.get(batch.node) ?? 0)) return { refused: this.refusedOnRetry(batch, audit.claims) };
    const add = (show: string, epoch: string, act: string, delta: number): void => {
      const byEpoch = child(this.counts, show, () => new Map<string, Map<string, Map<string, number>>>());
      const byAct = child(byEpoch, epoch, () => new Map<string, Map<string, number>>());
      const byNode = child(byAct, act, () => new Map<string, number>());
      byNode.set(batch.node, (byNode.get(batch.node) ?? 0) + delta);
    };
    for (const r of rows) add(r.show, r.epoch, r.act, r.delta);
    const stored = (e: AuditEntry): StoredAudit => ({
      act: e.act,
      atMs: e.atMs,
      viewer: e.viewer,
      node: batch.node,
      seq: batch.batchSeq,
      count: e.count,
    });
    for (const e of audit.once) {
      const m = child(this.onceRows, JSON.stringify([e.show, e.epoch]), () => new Map<string, StoredAudit>());
      const k = JSON.stringify([e.act, e.viewer]);
      const prev = m.get(k);
      // A viewer counted twice (the cache lost its claim): kept visible as count 2, so the sums still match.
      if (prev) prev.count += 1;
      else m.set(k, stored(e));
    }
    for (const e of audit.interval) child(this.intervalRows, JSON.stringify([e.show, e.epoch]), () => []).push(stored(e));
    const refused: number[] = [];
    audit.claims.forEach((e, i) => {
      const m = child(this.onceRows, JSON.stringify([e.show, e.epoch]), () => new Map<string, StoredAudit>());
      const k = JSON.stringify([e.act, e.viewer]);
      if (m.has(k)) return void refused.push(i);
      m.set(k, { ...stored(e), count: 0 }); // reserved: the node's later `once` entry counts it
    });
    this.lastSeq.set(batch.node, batch.batchSeq);
    return { refused };
  }

  /** A batch applied before: a claim was accepted iff its row names this node and batch. */
  private refusedOnRetry(batch: CountBatch, claims: readonly AuditEntry[]): number[] {
    const refused: number[] = [];
    claims.forEach((e, i) => {
      const r = this.onceRows.get(JSON.stringify([e.show, e.epoch]))?.get(JSON.stringify([e.act, e.viewer]));
      if (!r || r.node !== batch.node || r.seq !== batch.batchSeq) refused.push(i);
    });
    return refused;
  }

  /** Rows that count (a reserved claim not yet counted is left out). */
  private auditOf(show: string, epoch: string): StoredAudit[] {
    const k = JSON.stringify([show, epoch]);
    return [...(this.onceRows.get(k)?.values() ?? []), ...(this.intervalRows.get(k) ?? [])].filter((r) => r.count > 0);
  }

  async auditTotals(show: string, epoch: string): Promise<Map<string, number>> {
    this.open();
    const out = new Map<string, number>();
    for (const r of this.auditOf(show, epoch)) out.set(r.act, (out.get(r.act) ?? 0) + r.count);
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async auditPage(
    show: string,
    epoch: string,
    after: AuditCursor | null,
    limit: number,
  ): Promise<{ rows: AuditRow[]; next: AuditCursor | null }> {
    this.open();
    checkLimit(limit);
    const from = decodeCursor(after);
    const sorted = this.auditOf(show, epoch)
      .filter((r) => from === null || compareCursorKeys(r, from) > 0)
      .sort(compareCursorKeys);
    return page(sorted.slice(0, limit + 1), limit);
  }

  async timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>> {
    this.open();
    checkInterval(intervalMs);
    const buckets = new Map<number, number>();
    for (const r of this.auditOf(show, epoch)) {
      if (r.act !== act) continue;
      const b = bucketOf(r.atMs, intervalMs);
      buckets.set(b, (buckets.get(b) ?? 0) + r.count);
    }
    return [...buckets].sort((a, b) => a[0] - b[0]);
  }

  async markClaimEpoch(show: string, epoch: string, node: string): Promise<"created" | "exists"> {
    this.open();
    checkClaimEpoch(show, epoch, node);
    const k = JSON.stringify([show, epoch]);
    if (this.claimEpochs.has(k)) return "exists";
    this.claimEpochs.add(k);
    return "created";
  }

  async joinClaimCache(show: string, epoch: string, node: string): Promise<boolean> {
    this.open();
    checkClaimEpoch(show, epoch, node);
    const k = JSON.stringify([show, epoch]);
    if (this.recordModeEpochs.has(k)) return false;
    const m = child(this.cacheDeciders, k, () => new Map<string, { left: boolean }>());
    if (!m.has(node)) m.set(node, { left: false });
    return true;
  }

  async claimRecordMode(show: string, epoch: string, node: string): Promise<string[]> {
    this.open();
    checkClaimEpoch(show, epoch, node);
    const k = JSON.stringify([show, epoch]);
    this.recordModeEpochs.add(k);
    const out: string[] = [];
    for (const [n, d] of this.cacheDeciders.get(k) ?? []) if (n !== node && !d.left) out.push(n);
    return out.sort();
  }

  async leaveClaimCache(node: string, show: string | null, epoch: string | null): Promise<void> {
    this.open();
    if (show !== null || epoch !== null) checkClaimEpoch(show ?? "", epoch ?? "", node);
    for (const [k, m] of this.cacheDeciders) {
      if (show !== null && k !== JSON.stringify([show, epoch])) continue;
      const d = m.get(node);
      if (d) d.left = true;
    }
  }

  async lockClose(show: string, epoch: string, version: number, token: string): Promise<boolean> {
    this.open();
    checkCloseLock(show, epoch, version, token);
    const k = JSON.stringify([show, epoch, version]);
    const holder = this.closeLocks.get(k);
    if (holder === undefined) this.closeLocks.set(k, token);
    return (holder ?? token) === token;
  }

  async lastBatchSeq(node: string): Promise<number> {
    this.open();
    return this.lastSeq.get(node) ?? 0;
  }

  async countTotals(show: string, epoch: string): Promise<Map<string, number>> {
    this.open();
    const out = new Map<string, number>();
    for (const [act, byNode] of this.counts.get(show)?.get(epoch) ?? []) {
      let sum = 0;
      for (const n of byNode.values()) sum += n;
      out.set(act, sum);
    }
    return out;
  }

  async acquireNodeLease(node: string, holder: string, ttlMs: number): Promise<LeaseVerdict> {
    this.open();
    checkLease(node, holder, ttlMs);
    const now = Date.now();
    const cur = this.leaseRows.get(node);
    if (cur && cur.holder !== holder && cur.expiresAt > now) return { ok: false, holder: cur.holder, expiresInMs: cur.expiresAt - now };
    this.leaseRows.set(node, { holder, expiresAt: now + ttlMs });
    this.fenced.set(node, holder);
    return { ok: true };
  }

  async releaseNodeLease(node: string, holder: string): Promise<void> {
    this.open();
    checkLease(node, holder, 1);
    // The fence stays: a batch after the release is refused.
    if (this.leaseRows.get(node)?.holder === holder) this.leaseRows.delete(node);
  }

  async saveShow(rec: ShowRecord, base?: number | null): Promise<SaveShowResult> {
    this.open();
    const next = checkShowRecord(rec);
    const prev = this.shows.get(next.show.id) ?? null;
    if (!mayReplace(prev?.version ?? null, next, base)) return { ok: false, current: prev ? copyShow(prev) : null };
    this.shows.set(next.show.id, next);
    const row = historyRow(prev, next, Date.now());
    if (row !== null) child(this.history, next.show.id, () => []).push({ epoch: next.epoch, ...row, version: next.version });
    return { ok: true };
  }

  async loadShow(id: string): Promise<ShowRecord | null> {
    this.open();
    const r = this.shows.get(id);
    return r ? copyShow(r) : null;
  }

  async listShows(): Promise<ShowRecord[]> {
    this.open();
    return [...this.shows.values()].sort((a, b) => (a.show.id < b.show.id ? -1 : a.show.id > b.show.id ? 1 : 0)).map(copyShow);
  }

  async stageHistory(show: string): Promise<StageChange[]> {
    this.open();
    return (this.history.get(show) ?? []).map((h) => ({ ...h }));
  }

  async recordOnAir(rows: readonly OnAirTotal[]): Promise<void> {
    this.open();
    checkOnAir(rows);
    for (const r of rows) {
      const k = JSON.stringify([r.show, r.epoch, r.act, r.node]);
      const prev = this.onAir.get(k);
      if (prev === undefined || r.atMs >= prev.atMs) this.onAir.set(k, { ...r });
    }
  }

  async onAirTotals(show: string, epoch: string): Promise<OnAirTotal[]> {
    this.open();
    return [...this.onAir.values()]
      .filter((r) => r.show === show && r.epoch === epoch)
      .sort(compareOnAir)
      .map((r) => ({ ...r }));
  }

  async fleetSecret(name: string, candidate: Buffer): Promise<Buffer> {
    this.open();
    checkSecret(name, candidate);
    let s = this.secrets.get(name);
    if (s === undefined) this.secrets.set(name, (s = Buffer.from(candidate)));
    return Buffer.from(s);
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
