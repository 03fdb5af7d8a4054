/**
 * The audit log's SQL, run inside MysqlRecord's units of work (mysql-record.ts owns transactions
 * and retries). Tables in migrations/002_audit.sql.
 *
 * Guarantees (inside persistCounts' transaction, after the node's batch row is locked):
 * - `once` rows decided elsewhere are upserted; a row already present (a viewer the cache let count
 *   twice) gets count + 1, so per act the audit sum stays equal to the count rows' sum.
 * - claims are inserted with count 0 (a reservation) and a no-op on duplicate; a claim is accepted
 *   iff the row then names this node and batch, which is also how a retried, already committed
 *   batch reports the same decisions. The node's later `once` row for that viewer raises it to 1.
 * - pages and timelines leave out reserved rows not yet counted (count 0).
 * - rows go in primary key order (sorted by the caller's normalization), so nodes lock in one order.
 */
import type { RowDataPacket } from "mysql2/promise";
import { bucketOf, compareCursorKeys, compareText, decodeCursor, page, type CursorKey } from "./audit-rules.ts";
import type { Param, Query } from "./mysql-runner.ts";
import type { AuditCursor, AuditEntry, AuditRow } from "./record.ts";

const COLS = "(show_id, epoch, act, viewer, node, batch_seq, at_ms, count)";
const PLACE = "(?, ?, ?, ?, ?, ?, ?, ?)";

function values(rows: readonly AuditEntry[], node: string, seq: number): Param[] {
  const v: Param[] = [];
  for (const e of rows) v.push(e.show, e.epoch, e.act, e.viewer, node, seq, e.atMs, e.count);
  return v;
}

const byKey = (a: AuditEntry, b: AuditEntry): number =>
  compareText(a.show, b.show) || compareText(a.epoch, b.epoch) || compareText(a.act, b.act) || compareText(a.viewer, b.viewer);

async function chunked(rows: readonly AuditEntry[], per: number, fn: (part: AuditEntry[]) => Promise<unknown>): Promise<void> {
  const sorted = [...rows].sort(byKey);
  for (let i = 0; i < sorted.length; i += per) await fn(sorted.slice(i, i + per));
}

export async function insertOnce(q: Query, rows: readonly AuditEntry[], node: string, seq: number, per: number): Promise<void> {
  await chunked(rows, per, (part) =>
    q(
      `INSERT INTO audit_once ${COLS} VALUES ${part.map(() => PLACE).join(", ")} ON DUPLICATE KEY UPDATE count = count + 1`,
      values(part, node, seq),
    ),
  );
}

export async function insertInterval(q: Query, rows: readonly AuditEntry[], node: string, seq: number, per: number): Promise<void> {
  // The batch seq is in the key and the whole batch is skipped when already applied: no duplicates.
  await chunked(rows, per, (part) =>
    q(`INSERT INTO audit_interval ${COLS} VALUES ${part.map(() => PLACE).join(", ")}`, values(part, node, seq)),
  );
}

/** Inserts the claims not yet recorded (when `insert`), then returns the indices refused. */
export async function decideClaims(
  q: Query,
  claims: readonly AuditEntry[],
  node: string,
  seq: number,
  per: number,
  insert: boolean,
): Promise<number[]> {
  if (claims.length === 0) return [];
  if (insert) {
    await chunked(claims, per, (part) =>
      q(
        `INSERT INTO audit_once ${COLS} VALUES ${part.map(() => PLACE).join(", ")} ON DUPLICATE KEY UPDATE count = count`,
        values(
          part.map((c) => ({ ...c, count: 0 })),
          node,
          seq,
        ),
      ),
    );
  }
  const mine = new Set<string>();
  const groups = new Map<string, AuditEntry[]>();
  for (const c of claims) {
    const k = JSON.stringify([c.show, c.epoch, c.act]);
    const g = groups.get(k);
    if (g) g.push(c);
    else groups.set(k, [c]);
  }
  for (const g of groups.values()) {
    const first = g[0];
    if (!first) continue;
    for (let i = 0; i < g.length; i += per) {
      const part = g.slice(i, i + per);
      const rows = await q<RowDataPacket[]>(
        `SELECT viewer FROM audit_once WHERE show_id = ? AND epoch = ? AND act = ? AND node = ? AND batch_seq = ? AND viewer IN (${part.map(() => "?").join(", ")})`,
        [first.show, first.epoch, first.act, node, seq, ...part.map((c) => c.viewer)],
      );
      for (const r of rows) mine.add(JSON.stringify([first.show, first.epoch, first.act, String(r.viewer)]));
    }
  }
  const refused: number[] = [];
  claims.forEach((c, i) => {
    if (!mine.has(JSON.stringify([c.show, c.epoch, c.act, c.viewer]))) refused.push(i);
  });
  return refused;
}

export async function auditTotals(q: Query, show: string, epoch: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const table of ["audit_once", "audit_interval"]) {
    const rows = await q<RowDataPacket[]>(
      `SELECT act, CAST(SUM(count) AS SIGNED) AS total FROM ${table} WHERE show_id = ? AND epoch = ? AND count > 0 GROUP BY act`,
      [show, epoch],
    );
    for (const r of rows) out.set(String(r.act), (out.get(String(r.act)) ?? 0) + Number(r.total));
  }
  return new Map([...out].sort(([a], [b]) => compareText(a, b)));
}

const AFTER =
  " AND (act > ? OR (act = ? AND (at_ms > ? OR (at_ms = ? AND (viewer > ? OR (viewer = ? AND (node > ? OR (node = ? AND batch_seq > ?))))))))";

/** One keyset page: each table read along its by_time index from the cursor, merged. */
export async function auditPage(
  q: Query,
  show: string,
  epoch: string,
  after: AuditCursor | null,
  limit: number,
): Promise<{ rows: AuditRow[]; next: AuditCursor | null }> {
  const from = decodeCursor(after);
  const merged: Array<CursorKey & { count: number }> = [];
  for (const table of ["audit_once", "audit_interval"]) {
    const params: Param[] = [show, epoch];
    if (from) params.push(from.act, from.act, from.atMs, from.atMs, from.viewer, from.viewer, from.node, from.node, from.seq);
    params.push(limit + 1);
    const rows = await q<RowDataPacket[]>(
      `SELECT act, at_ms, viewer, node, batch_seq, count FROM ${table} FORCE INDEX (by_time) WHERE show_id = ? AND epoch = ? AND count > 0` +
        (from ? AFTER : "") +
        " ORDER BY act, at_ms, viewer, node, batch_seq LIMIT ?",
      params,
    );
    for (const r of rows) {
      merged.push({
        act: String(r.act),
        atMs: Number(r.at_ms),
        viewer: String(r.viewer),
        node: String(r.node),
        seq: Number(r.batch_seq),
        count: Number(r.count),
      });
    }
  }
  merged.sort(compareCursorKeys);
  return page(merged.slice(0, limit + 1), limit);
}

export async function timeline(q: Query, show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>> {
  const buckets = new Map<number, number>();
  for (const table of ["audit_once", "audit_interval"]) {
    const rows = await q<RowDataPacket[]>(
      `SELECT CAST((at_ms DIV ?) * ? AS SIGNED) AS b, CAST(SUM(count) AS SIGNED) AS n FROM ${table}` +
        " WHERE show_id = ? AND epoch = ? AND act = ? AND count > 0 GROUP BY b",
      [intervalMs, intervalMs, show, epoch, act],
    );
    for (const r of rows) {
      const b = bucketOf(Number(r.b), intervalMs);
      buckets.set(b, (buckets.get(b) ?? 0) + Number(r.n));
    }
  }
  return [...buckets].sort((a, b) => a[0] - b[0]);
}

export async function markClaimEpoch(q: Query, show: string, epoch: string, node: string): Promise<"created" | "exists"> {
  // INSERT IGNORE: affectedRows is 0 for a duplicate (ON DUPLICATE KEY would report the found row).
  // Nothing else can be ignored: the fields were checked (checkClaimEpoch) and fit their columns.
  const res = await q<{ affectedRows: number }>(
    "INSERT IGNORE INTO claim_epochs (show_id, epoch, node, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))",
    [show, epoch, node],
  );
  return res.affectedRows === 1 ? "created" : "exists";
}

/**
 * Register a cache decider unless the epoch is in record mode. The locking read of the record-mode
 * row (a gap lock when absent) orders this against claimRecordMode's insert: one of the two
 * commits first, so a node is either refused here or listed there.
 */
export async function joinClaimCache(q: Query, show: string, epoch: string, node: string): Promise<boolean> {
  const [mode] = await q<RowDataPacket[]>("SELECT node FROM claim_record_mode WHERE show_id = ? AND epoch = ? LOCK IN SHARE MODE", [
    show,
    epoch,
  ]);
  if (mode) return false;
  await q("INSERT IGNORE INTO claim_cache_nodes (show_id, epoch, node, joined_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))", [show, epoch, node]);
  return true;
}

/** Record mode for good, then the other registered deciders that may still commit (record.ts). */
export async function claimRecordMode(q: Query, show: string, epoch: string, node: string): Promise<string[]> {
  await q("INSERT IGNORE INTO claim_record_mode (show_id, epoch, node, since) VALUES (?, ?, ?, UTC_TIMESTAMP(3))", [show, epoch, node]);
  const rows = await q<RowDataPacket[]>(
    "SELECT node FROM claim_cache_nodes WHERE show_id = ? AND epoch = ? AND node <> ? AND left_at IS NULL ORDER BY node LOCK IN SHARE MODE",
    [show, epoch, node],
  );
  return rows.map((r) => String(r.node));
}

export async function leaveClaimCache(q: Query, node: string, show: string | null, epoch: string | null): Promise<void> {
  if (show === null) {
    await q("UPDATE claim_cache_nodes SET left_at = UTC_TIMESTAMP(3) WHERE node = ? AND left_at IS NULL", [node]);
    return;
  }
  await q("UPDATE claim_cache_nodes SET left_at = UTC_TIMESTAMP(3) WHERE show_id = ? AND epoch = ? AND node = ? AND left_at IS NULL", [
    show,
    epoch,
    node,
  ]);
}
