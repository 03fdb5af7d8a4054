/**
 * The results table as data (pure): every act of the show with its total, its rank, when its
 * voting closed and what the record says. Totals are the live ones (what viewers saw; they never
 * decrease within an epoch); `record` and `match` come from the audit endpoint when the server keeps
 * a record. Ranks are competition ranks ("1, 2, 2, 4"): equal totals share a rank; the table lists
 * them in show order.
 */
import type { ShowInfo, Stage, Totals } from "../../../shared/protocol.ts";
import type { AuditReport } from "./api.ts";

export type ActStatus = "open" | "closed" | "on_stage" | "not_closed";

export interface ResultRow {
  act: string;
  name: string;
  total: number;
  rank: number;
  status: ActStatus;
  /** When voting closed (ms since 1970), as a console saw it; null: not seen. */
  closedAt: number | null;
  /** The record's total and whether live == record == audit log; null without an audit answer. */
  record: number | null;
  match: boolean | null;
}

export function resultRows(
  info: ShowInfo,
  totals: Readonly<Totals>,
  stage: Stage | null,
  closes: ReadonlyMap<string, number>,
  audit: AuditReport | null,
): ResultRow[] {
  const rows = info.acts.map((a): ResultRow => {
    const onStage = stage?.act === a.id;
    const closedAt = closes.get(a.id) ?? null;
    const status: ActStatus = onStage && stage?.open ? "open" : closedAt !== null ? "closed" : onStage ? "on_stage" : "not_closed";
    const r = audit?.acts[a.id];
    return {
      act: a.id,
      name: a.name,
      total: totals[a.id] ?? 0,
      rank: 0,
      status,
      closedAt: status === "open" ? null : closedAt,
      record: r?.record ?? null,
      match: r?.match ?? null,
    };
  });
  for (const row of rows) row.rank = 1 + rows.filter((o) => o.total > row.total).length;
  return rows;
}

/** Rows by rank (ties in show order): the order a producer reads results in. */
export function byRank(rows: readonly ResultRow[]): ResultRow[] {
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.rank - b.r.rank || a.i - b.i)
    .map(({ r }) => r);
}
