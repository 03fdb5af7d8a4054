/**
 * Input rules for the audit log, shared by every Record implementation so they accept and reject
 * exactly the same batches, cursors and intervals. Pure functions; nothing here touches storage.
 */
import { MAX_EPOCH_LEN, MAX_KEY_LEN, MAX_NODE_LEN, type NormalRow } from "./normalize.ts";
import { RecordError, type AuditCursor, type AuditEntry, type AuditRow, type CountBatch } from "./record.ts";

/** Longest viewer key the audit log stores (`v:` + a 128-character viewer id, with room). */
export const MAX_VIEWER_LEN = 160;
export const MAX_AUDIT_PAGE = 10_000;

export interface AuditParts {
  once: AuditEntry[];
  interval: AuditEntry[];
  claims: AuditEntry[];
}

function checkEntry(e: AuditEntry, what: string): AuditEntry {
  const text = (name: string, v: unknown, max: number): string => {
    if (typeof v !== "string" || v.length === 0 || v.length > max) {
      throw new RecordError("query", `${what}.${name} must be a string of 1-${max} characters`);
    }
    return v;
  };
  if (!Number.isSafeInteger(e.atMs) || e.atMs < 0) throw new RecordError("query", `${what}.atMs must be a non-negative safe integer`);
  if (!Number.isSafeInteger(e.count) || e.count < 1) throw new RecordError("query", `${what}.count must be a positive safe integer`);
  return {
    show: text("show", e.show, MAX_KEY_LEN),
    epoch: text("epoch", e.epoch, MAX_EPOCH_LEN),
    act: text("act", e.act, MAX_KEY_LEN),
    viewer: text("viewer", e.viewer, MAX_VIEWER_LEN),
    atMs: e.atMs,
    count: e.count,
  };
}

const tupleKey = (show: string, epoch: string, act: string): string => JSON.stringify([show, epoch, act]);

/**
 * Validates a batch's audit parts against its normalized count rows. When the batch is audited
 * (`once` or `interval` given), per (show, epoch, act) the audit counts must equal the row's delta:
 * the record never holds a count without its audit rows or the other way round.
 */
export function normalizeAudit(batch: CountBatch, rows: readonly NormalRow[]): AuditParts {
  const once = (batch.once ?? []).map((e) => checkEntry(e, "once"));
  const interval = (batch.interval ?? []).map((e) => checkEntry(e, "interval"));
  const claims = (batch.claims ?? []).map((e) => checkEntry(e, "claim"));
  for (const c of claims) if (c.count !== 1) throw new RecordError("query", "a claim counts exactly 1");
  for (const o of once) if (o.count !== 1) throw new RecordError("query", "a once audit row counts exactly 1");
  const seen = new Set<string>();
  for (const e of [...once, ...claims]) {
    const k = JSON.stringify([e.show, e.epoch, e.act, e.viewer]);
    if (seen.has(k)) throw new RecordError("query", `viewer ${e.viewer} appears twice for act ${e.act} in one batch`);
    seen.add(k);
  }
  if (batch.once === undefined && batch.interval === undefined) return { once, interval, claims };
  const audited = new Map<string, number>();
  for (const e of [...once, ...interval]) {
    const k = tupleKey(e.show, e.epoch, e.act);
    audited.set(k, (audited.get(k) ?? 0) + e.count);
  }
  for (const r of rows) {
    const k = tupleKey(r.show, r.epoch, r.act);
    if ((audited.get(k) ?? 0) !== r.delta) {
      throw new RecordError("query", `audit rows for act ${r.act} add up to ${audited.get(k) ?? 0}, the count row to ${r.delta}`);
    }
    audited.delete(k);
  }
  if (audited.size > 0) throw new RecordError("query", "audit rows for an act without a count row");
  return { once, interval, claims };
}

/** Audit rows are ordered by (act, atMs, viewer, node, seq); seq breaks ties between a node's batches. */
export interface CursorKey {
  act: string;
  atMs: number;
  viewer: string;
  node: string;
  seq: number;
}

export function encodeCursor(k: CursorKey): AuditCursor {
  return Buffer.from(JSON.stringify([k.act, k.atMs, k.viewer, k.node, k.seq])).toString("base64url") as AuditCursor;
}

export function decodeCursor(c: AuditCursor | null): CursorKey | null {
  if (c === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(String(c), "base64url").toString("utf8"));
  } catch {
    throw new RecordError("query", "invalid audit cursor");
  }
  if (
    !Array.isArray(v) ||
    v.length !== 5 ||
    typeof v[0] !== "string" ||
    !Number.isSafeInteger(v[1]) ||
    typeof v[2] !== "string" ||
    typeof v[3] !== "string" ||
    !Number.isSafeInteger(v[4])
  ) {
    throw new RecordError("query", "invalid audit cursor");
  }
  return { act: v[0], atMs: v[1] as number, viewer: v[2], node: v[3], seq: v[4] as number };
}

/** Code point order (what MySQL's binary collations use), not UTF-16 unit order. */
export function compareText(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function compareCursorKeys(a: CursorKey, b: CursorKey): number {
  return compareText(a.act, b.act) || a.atMs - b.atMs || compareText(a.viewer, b.viewer) || compareText(a.node, b.node) || a.seq - b.seq;
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw new RecordError("query", `limit must be an integer of 1-${MAX_AUDIT_PAGE}`);
  }
}

export function checkInterval(intervalMs: number): void {
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new RecordError("query", "intervalMs must be a positive integer");
}

/** One page out of rows already sorted by key: the first `limit`, and the cursor when more follow. */
export function page(sorted: ReadonlyArray<CursorKey & { count: number }>, limit: number): { rows: AuditRow[]; next: AuditCursor | null } {
  const taken = sorted.slice(0, limit);
  const rows = taken.map((r) => ({ act: r.act, viewer: r.viewer, node: r.node, atMs: r.atMs, count: r.count }));
  const last = taken[taken.length - 1];
  return { rows, next: sorted.length > limit && last ? encodeCursor(last) : null };
}

/** Validates markClaimEpoch's arguments (RecordError "query"). */
export function checkClaimEpoch(show: string, epoch: string, node: string): void {
  for (const [name, v, max] of [
    ["show", show, MAX_KEY_LEN],
    ["epoch", epoch, MAX_EPOCH_LEN],
    ["node", node, MAX_NODE_LEN],
  ] as const) {
    if (typeof v !== "string" || v.length === 0 || v.length > max)
      throw new RecordError("query", `${name} must be a string of 1-${max} characters`);
  }
}

/** Bucket start for a time: floor to a multiple of intervalMs. */
export const bucketOf = (atMs: number, intervalMs: number): number => Math.floor(atMs / intervalMs) * intervalMs;
