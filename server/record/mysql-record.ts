/**
 * The durable record in MySQL / MariaDB through a mysql2 pool.
 *
 * Guarantees:
 * - persistCounts is one transaction: the node's node_batches row is locked first (serializing
 *   that node's batches), a batch whose seq is <= the stored one commits nothing, otherwise all
 *   its rows and the new seq commit together. A batch retried after a lost COMMIT reply is
 *   therefore ignored. Each counts row also keeps the seq of the batch that last added to it and
 *   only adds a larger seq (defence in depth). Rows go in sorted key order, so concurrent nodes
 *   take locks in one order; deadlocks and lock wait timeouts that still happen are retried up to
 *   maxAttempts times and counted in `counters`.
 * - saveShow is one transaction that locks the show row (FOR UPDATE) and decides by the stored
 *   version (normalize.ts `mayReplace`): a compare-and-swap on `base`, so two writers of one base
 *   serialize on the row lock and the second finds the first's version and is refused.
 * - No call hangs and retries are bounded (see MysqlRunner).
 * - Public reads (`publicReads`) run on a pool of their own (default 2 connections, 1 s to get one):
 *   a flood of them never holds a connection that a batch, a claim, a producer's change or the
 *   readiness ping waits for.
 */
import type { RowDataPacket } from "mysql2/promise";
import type { Family } from "../ops/metrics.ts";
import { migrate } from "./migrate.ts";
import { MysqlRunner, type Param, type Query, type RetryCounters } from "./mysql-runner.ts";
import { parseMysqlUrl, type MysqlTarget } from "./mysql-target.ts";
import { checkBase, checkShowRecord, historyRow, mayReplace, normalizeBatch, type NormalRow } from "./normalize.ts";
import { checkClaimEpoch, checkInterval, checkLimit, normalizeAudit } from "./audit-rules.ts";
import { checkCloseLock } from "./close-lock-rules.ts";
import { checkLease } from "./lease-rules.ts";
import * as audit from "./mysql-audit.ts";
import * as proof from "./mysql-proof.ts";
import { checkOnAir, checkSecret } from "./proof-rules.ts";
import {
  RecordError,
  type AuditCursor,
  type AuditRow,
  type CountBatch,
  type OnAirTotal,
  type LeaseVerdict,
  type PersistOutcome,
  type PublicRecordReads,
  type Record,
  type SaveShowResult,
  type ShowRecord,
  type StageChange,
} from "./record.ts";
import { SHOW_COLUMNS, rowStageState, rowToShow } from "./show-row.ts";

export interface MysqlRecordOptions {
  /** Pool size (connections). Default 4. */
  poolSize?: number;
  /** Bound on opening a connection and on waiting for a free pooled one (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Bound on each statement (ms). Default 10000. InnoDB lock waits are set to half of it. */
  queryTimeoutMs?: number;
  /** Attempts per call for deadlocks, lock wait timeouts and dead pooled connections. Default 5. */
  maxAttempts?: number;
  /** Rows per multi-row INSERT inside a batch's transaction. Default 500. */
  rowsPerStatement?: number;
  /** Connections of the separate pool for public reads (`publicReads`). Default 2. */
  publicPoolSize?: number;
  /** Bound on waiting for a public-read connection (ms); a public read waits no longer. Default 1000. */
  publicConnectTimeoutMs?: number;
  /** migrate() creates the database when it is missing. Default true. */
  createDatabase?: boolean;
}

export class MysqlRecord implements Record {
  private readonly target: MysqlTarget;
  private readonly runner: MysqlRunner;
  /** Public reads only (see PublicRecordReads): never a connection counting or producers need. */
  private readonly publicRunner: MysqlRunner;
  readonly publicReads: PublicRecordReads;
  private readonly connectTimeoutMs: number;
  private readonly queryTimeoutMs: number;
  private readonly rowsPerStatement: number;
  private readonly createDatabase: boolean;
  /** Node ids whose lease this object took, and the holder named: their batches are fenced by it. */
  private readonly leases = new Map<string, string>();

  constructor(url: string, options: MysqlRecordOptions = {}) {
    this.target = parseMysqlUrl(url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.rowsPerStatement = Math.max(1, options.rowsPerStatement ?? 500);
    this.createDatabase = options.createDatabase ?? true;
    this.runner = new MysqlRunner(this.target, {
      poolSize: Math.max(1, options.poolSize ?? 4),
      connectTimeoutMs: this.connectTimeoutMs,
      queryTimeoutMs: this.queryTimeoutMs,
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
    });
    this.publicRunner = new MysqlRunner(this.target, {
      poolSize: Math.max(1, options.publicPoolSize ?? 2),
      connectTimeoutMs: Math.min(this.connectTimeoutMs, options.publicConnectTimeoutMs ?? 1000),
      queryTimeoutMs: this.queryTimeoutMs,
      maxAttempts: 2,
    });
    this.publicReads = {
      countTotals: (show, epoch) => this.publicRunner.run("publicCountTotals", false, (q) => sumCounts(q, show, epoch)),
      timeline: (show, epoch, act, intervalMs) => {
        checkInterval(intervalMs);
        return this.publicRunner.run("publicTimeline", false, (q) => audit.timeline(q, show, epoch, act, intervalMs));
      },
    };
  }

  /** Retries so far (what `metrics()` exports). */
  get counters(): Readonly<RetryCounters> {
    return this.runner.counters;
  }

  /** Metric families for the retry counters; the composition root adds them to /metrics. */
  metrics(): Family[] {
    const c = this.runner.counters;
    return [
      {
        name: "buzzcast_record_retries_total",
        help: "MySQL units of work retried, by cause (deadlock or lock wait timeout; pooled connection found dead).",
        kind: "counter",
        samples: [
          { labels: { cause: "lock" }, value: c.lockRetries },
          { labels: { cause: "connection" }, value: c.connectionRetries },
        ],
      },
    ];
  }

  async migrate(): Promise<void> {
    if (this.runner.isClosed) throw new RecordError("unreachable", "record is closed");
    await migrate(this.target, {
      connectTimeoutMs: this.connectTimeoutMs,
      queryTimeoutMs: this.queryTimeoutMs,
      createDatabase: this.createDatabase,
    });
  }

  async persistCounts(batch: CountBatch): Promise<PersistOutcome> {
    const rows = normalizeBatch(batch);
    const parts = normalizeAudit(batch, rows);
    const per = this.rowsPerStatement;
    const holder = this.leases.get(batch.node);
    return this.runner.run("persistCounts", true, async (q) => {
      // The fence: a shared lock on the lease row for the whole transaction, so a takeover
      // (acquireNodeLease's exclusive lock) commits either before this batch (refused) or after it.
      if (holder !== undefined) {
        const [lease] = await q<RowDataPacket[]>("SELECT holder FROM node_leases WHERE node = ? LOCK IN SHARE MODE", [batch.node]);
        if (lease?.holder !== holder) {
          throw new RecordError(
            "lease",
            `node ${batch.node}'s lease is held by ${String(lease?.holder ?? "nobody")}, not this process: batch refused`,
          );
        }
      }
      await q(
        "INSERT INTO node_batches (node, last_batch_seq, updated_at) VALUES (?, 0, UTC_TIMESTAMP(3)) " +
          "ON DUPLICATE KEY UPDATE last_batch_seq = last_batch_seq",
        [batch.node],
      );
      const [cur] = await q<RowDataPacket[]>("SELECT last_batch_seq FROM node_batches WHERE node = ? FOR UPDATE", [batch.node]);
      if (batch.batchSeq <= Number(cur?.last_batch_seq ?? 0)) {
        return { refused: await audit.decideClaims(q, parts.claims, batch.node, batch.batchSeq, per, false) };
      }
      // Audit rows first, then count rows: every node takes its locks in that order.
      await audit.insertOnce(q, parts.once, batch.node, batch.batchSeq, per);
      await audit.insertInterval(q, parts.interval, batch.node, batch.batchSeq, per);
      const refused = await audit.decideClaims(q, parts.claims, batch.node, batch.batchSeq, per, true);
      for (let i = 0; i < rows.length; i += per) await this.insertCounts(q, batch, rows.slice(i, i + per));
      await q("UPDATE node_batches SET last_batch_seq = ?, updated_at = UTC_TIMESTAMP(3) WHERE node = ?", [batch.batchSeq, batch.node]);
      return { refused };
    });
  }

  private async insertCounts(q: Query, batch: CountBatch, rows: readonly NormalRow[]): Promise<void> {
    const values: Param[] = [];
    for (const r of rows) values.push(r.show, r.epoch, r.act, batch.node, r.delta, batch.batchSeq);
    // MariaDB evaluates the assignments left to right: batch_seq is compared before it is raised.
    await q(
      "INSERT INTO counts (show_id, epoch, act, node, count, batch_seq, updated_at) VALUES " +
        rows.map(() => "(?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))").join(", ") +
        " ON DUPLICATE KEY UPDATE" +
        " count = IF(VALUES(batch_seq) > batch_seq, count + VALUES(count), count)," +
        " updated_at = IF(VALUES(batch_seq) > batch_seq, VALUES(updated_at), updated_at)," +
        " batch_seq = GREATEST(batch_seq, VALUES(batch_seq))",
      values,
    );
  }

  async acquireNodeLease(node: string, holder: string, ttlMs: number): Promise<LeaseVerdict> {
    checkLease(node, holder, ttlMs);
    return this.runner.run("acquireNodeLease", true, async (q): Promise<LeaseVerdict> => {
      const [cur] = await q<RowDataPacket[]>(
        "SELECT holder, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), expires_at) DIV 1000 AS left_ms FROM node_leases WHERE node = ? FOR UPDATE",
        [node],
      );
      if (cur && cur.holder !== holder && Number(cur.left_ms) > 0)
        return { ok: false, holder: String(cur.holder), expiresInMs: Number(cur.left_ms) };
      // acquired_at first: MariaDB assigns left to right, so it still sees the previous holder.
      await q(
        "INSERT INTO node_leases (node, holder, expires_at, acquired_at) VALUES (?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3)) " +
          "ON DUPLICATE KEY UPDATE acquired_at = IF(holder = VALUES(holder), acquired_at, VALUES(acquired_at)), holder = VALUES(holder), expires_at = VALUES(expires_at)",
        [node, holder, ttlMs * 1000],
      );
      this.leases.set(node, holder);
      return { ok: true };
    });
  }

  async releaseNodeLease(node: string, holder: string): Promise<void> {
    checkLease(node, holder, 1);
    // The fence stays: a batch after the release finds no row naming this holder and is refused.
    await this.runner.run("releaseNodeLease", false, (q) => q("DELETE FROM node_leases WHERE node = ? AND holder = ?", [node, holder]));
  }

  async lockClose(show: string, epoch: string, version: number, token: string): Promise<boolean> {
    checkCloseLock(show, epoch, version, token);
    return this.runner.run("lockClose", true, async (q) => {
      // INSERT IGNORE on the primary key: the first holder stays. Nothing else can be ignored: the
      // fields were checked (checkCloseLock) and fit their columns. The locking read sees the latest
      // committed row, whoever inserted it (an insert of another transaction is waited for).
      await q("INSERT IGNORE INTO close_locks (show_id, epoch, version, holder, taken_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))", [
        show,
        epoch,
        version,
        token,
      ]);
      const [r] = await q<RowDataPacket[]>(
        "SELECT holder FROM close_locks WHERE show_id = ? AND epoch = ? AND version = ? LOCK IN SHARE MODE",
        [show, epoch, version],
      );
      if (r === undefined) throw new RecordError("query", `close lock ${show}/${epoch}/${version} vanished after its insert`);
      return String(r.holder) === token;
    });
  }

  async lastBatchSeq(node: string): Promise<number> {
    return this.runner.run("lastBatchSeq", false, async (q) => {
      const [r] = await q<RowDataPacket[]>("SELECT last_batch_seq FROM node_batches WHERE node = ?", [node]);
      return Number(r?.last_batch_seq ?? 0);
    });
  }

  async countTotals(show: string, epoch: string): Promise<Map<string, number>> {
    return this.runner.run("countTotals", false, (q) => sumCounts(q, show, epoch));
  }

  async auditTotals(show: string, epoch: string): Promise<Map<string, number>> {
    return this.runner.run("auditTotals", false, (q) => audit.auditTotals(q, show, epoch));
  }

  async auditPage(
    show: string,
    epoch: string,
    after: AuditCursor | null,
    limit: number,
  ): Promise<{ rows: AuditRow[]; next: AuditCursor | null }> {
    checkLimit(limit);
    return this.runner.run("auditPage", false, (q) => audit.auditPage(q, show, epoch, after, limit));
  }

  async timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>> {
    checkInterval(intervalMs);
    return this.runner.run("timeline", false, (q) => audit.timeline(q, show, epoch, act, intervalMs));
  }

  async markClaimEpoch(show: string, epoch: string, node: string): Promise<"created" | "exists"> {
    checkClaimEpoch(show, epoch, node);
    return this.runner.run("markClaimEpoch", true, (q) => audit.markClaimEpoch(q, show, epoch, node));
  }

  async joinClaimCache(show: string, epoch: string, node: string): Promise<boolean> {
    checkClaimEpoch(show, epoch, node);
    return this.runner.run("joinClaimCache", true, (q) => audit.joinClaimCache(q, show, epoch, node));
  }

  async claimRecordMode(show: string, epoch: string, node: string): Promise<string[]> {
    checkClaimEpoch(show, epoch, node);
    return this.runner.run("claimRecordMode", true, (q) => audit.claimRecordMode(q, show, epoch, node));
  }

  async leaveClaimCache(node: string, show: string | null, epoch: string | null): Promise<void> {
    if (show !== null || epoch !== null) checkClaimEpoch(show ?? "", epoch ?? "", node);
    return this.runner.run("leaveClaimCache", false, (q) => audit.leaveClaimCache(q, node, show, epoch));
  }

  async saveShow(rec: ShowRecord, base?: number | null): Promise<SaveShowResult> {
    const next = checkShowRecord(rec);
    checkBase(next, base);
    return this.runner.run("saveShow", true, async (q): Promise<SaveShowResult> => {
      const [cur] = await q<RowDataPacket[]>(`SELECT ${SHOW_COLUMNS} FROM shows WHERE id = ? FOR UPDATE`, [next.show.id]);
      if (!mayReplace(cur ? Number(cur.version) : null, next, base)) return { ok: false, current: cur ? rowToShow(cur) : null };
      const prev = cur ? rowStageState(cur) : null;
      const n = next.next ?? null;
      const fields = [
        next.show.title,
        JSON.stringify(next.show.acts),
        next.epoch,
        next.stage.act,
        next.stage.open ? 1 : 0,
        next.version,
        n === null ? null : n.act,
        n === null ? null : n.open ? 1 : 0,
        n === null ? null : n.at,
      ];
      if (cur) {
        await q(
          "UPDATE shows SET title = ?, acts = ?, epoch = ?, stage_act = ?, stage_open = ?, version = ?, next_act = ?, next_open = ?, next_at = ?, " +
            "updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
          [...fields, next.show.id],
        );
      } else {
        await q(
          "INSERT INTO shows (id, title, acts, epoch, stage_act, stage_open, version, next_act, next_open, next_at, updated_at) " +
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))",
          [next.show.id, ...fields],
        );
      }
      // An immediate change is stamped by the record's clock; a scheduled one with its instant.
      const row = historyRow(prev, next, 0);
      if (row !== null) {
        await q(
          "INSERT INTO stage_history (show_id, version, epoch, act, is_open, at) " +
            "VALUES (?, ?, ?, ?, ?, COALESCE(TIMESTAMP('1970-01-01') + INTERVAL ? MICROSECOND, UTC_TIMESTAMP(3)))",
          [next.show.id, next.version, next.epoch, row.act, row.open ? 1 : 0, n === null ? null : row.at * 1000],
        );
      }
      return { ok: true };
    });
  }

  async loadShow(id: string): Promise<ShowRecord | null> {
    return this.runner.run("loadShow", false, async (q) => {
      const [r] = await q<RowDataPacket[]>(`SELECT ${SHOW_COLUMNS} FROM shows WHERE id = ?`, [id]);
      return r ? rowToShow(r) : null;
    });
  }

  async listShows(): Promise<ShowRecord[]> {
    return this.runner.run("listShows", false, async (q) => {
      const rows = await q<RowDataPacket[]>(`SELECT ${SHOW_COLUMNS} FROM shows ORDER BY id`);
      return rows.map(rowToShow);
    });
  }

  async stageHistory(show: string): Promise<StageChange[]> {
    return this.runner.run("stageHistory", false, async (q) => {
      const rows = await q<RowDataPacket[]>(
        "SELECT epoch, act, is_open, version, at FROM stage_history WHERE show_id = ? ORDER BY version",
        [show],
      );
      return rows.map((r) => ({
        epoch: String(r.epoch),
        act: r.act === null ? null : String(r.act),
        open: Number(r.is_open) === 1,
        version: Number(r.version),
        at: (r.at as Date).getTime(),
      }));
    });
  }

  async recordOnAir(rows: readonly OnAirTotal[]): Promise<void> {
    checkOnAir(rows);
    await this.runner.run("recordOnAir", true, (q) => proof.upsertOnAir(q, rows));
  }

  async onAirTotals(show: string, epoch: string): Promise<OnAirTotal[]> {
    return this.runner.run("onAirTotals", false, (q) => proof.selectOnAir(q, show, epoch));
  }

  async fleetSecret(name: string, candidate: Buffer): Promise<Buffer> {
    checkSecret(name, candidate);
    return this.runner.run("fleetSecret", true, (q) => proof.fleetSecret(q, name, candidate));
  }

  async ping(): Promise<void> {
    await this.runner.run("ping", false, (q) => q("SELECT 1"));
  }

  async close(): Promise<void> {
    await Promise.all([this.runner.close(), this.publicRunner.close()]);
  }
}

async function sumCounts(q: Query, show: string, epoch: string): Promise<Map<string, number>> {
  const rows = await q<RowDataPacket[]>(
    "SELECT act, CAST(SUM(count) AS SIGNED) AS total FROM counts WHERE show_id = ? AND epoch = ? GROUP BY act ORDER BY act",
    [show, epoch],
  );
  return new Map(rows.map((r) => [String(r.act), Number(r.total)]));
}
