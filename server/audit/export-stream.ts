/**
 * An export as a sequence of body chunks, read from the record page by page (keyset pagination),
 * so memory holds one page whatever the size of the log. The consumer pulls the next chunk only
 * when it has sent the previous one (backpressure reaches the record reads).
 *
 * What it proves: the `total` lines are the record's totals (sum over nodes) read when the export
 * started; the `buzz` lines are the audit rows; the `onair` lines are what each node put on air for
 * an act after its voting closed (the value of its last totals frame for the act). Each node writes
 * an act's audit rows and its count delta in one transaction, so for every act whose voting was
 * closed (and reconciled) before the export, total == sum of its rows == every on-air total. An act
 * still open (`openAct` in the header) may gain rows during the export: its rows can then exceed
 * its total.
 */
import type { AuditCursor, AuditRow, OnAirTotal } from "../record/record.ts";
import { headerLine, onAirLine, rowLine, sealLine, totalLine, type ExportFormat, type ExportHeader } from "./export-format.ts";
import type { ExportSigner } from "./export-signer.ts";
import type { Pseudonymiser } from "./pseudonym.ts";
import { SealedBody } from "./sealed-body.ts";

/** What an export reads from the record. */
export interface AuditSource {
  countTotals(show: string, epoch: string): Promise<Map<string, number>>;
  auditTotals(show: string, epoch: string): Promise<Map<string, number>>;
  auditPage(show: string, epoch: string, after: AuditCursor | null, limit: number): Promise<{ rows: AuditRow[]; next: AuditCursor | null }>;
  timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>>;
  onAirTotals(show: string, epoch: string): Promise<OnAirTotal[]>;
  fleetSecret(name: string, candidate: Buffer): Promise<Buffer>;
}

export interface ExportRequest {
  format: ExportFormat;
  header: Omit<ExportHeader, "signed" | "pseudonymKey">;
  /** Acts of the show, in show order; acts found only in the record follow, sorted. */
  acts: readonly string[];
  /** null: raw viewer ids. */
  pseudonyms: Pseudonymiser | null;
  signer: ExportSigner | null;
  pageSize?: number;
}

const PAGE_ROWS = 2000;

/** Chunks of the body: header, on-air and totals, one chunk per page of rows, then the seal line. */
export async function* exportChunks(source: AuditSource, req: ExportRequest): AsyncGenerator<string> {
  const { show, epoch } = req.header;
  const body = new SealedBody(req.signer);
  // On air before the totals: a total read later can only be higher, never miss what was on air.
  const onAir = await source.onAirTotals(show, epoch);
  const totals = await source.countTotals(show, epoch);
  const known = new Set([...totals.keys(), ...onAir.map((o) => o.act)]);
  const acts = [...req.acts, ...[...known].filter((a) => !req.acts.includes(a)).sort()];
  const header: ExportHeader = {
    ...req.header,
    signed: req.signer !== null,
    pseudonymKey: req.pseudonyms ? req.pseudonyms.source : "none",
  };
  let head = headerLine(req.format, header);
  for (const act of acts) for (const o of onAir) if (o.act === act) head += onAirLine(req.format, o);
  for (const act of acts) head += totalLine(req.format, act, totals.get(act) ?? 0);
  yield body.add(head);
  let after: AuditCursor | null = null;
  do {
    const page = await source.auditPage(show, epoch, after, req.pageSize ?? PAGE_ROWS);
    let chunk = "";
    for (const r of page.rows) {
      const viewer = req.pseudonyms ? req.pseudonyms.of(r.viewer) : r.viewer;
      chunk += rowLine(req.format, { act: r.act, atMs: r.atMs, count: r.count, node: r.node, viewer });
    }
    if (chunk !== "") yield body.add(chunk);
    after = page.next;
  } while (after !== null);
  yield sealLine(req.format, body.seal());
}
