/**
 * The two export layouts. Both are line-oriented: a header line, one line per act total, one line
 * per audit row, and the seal as the LAST line (sealed-body.ts), so `sed '$d'` gives exactly the
 * bytes the seal covers. Lines end with "\n".
 *
 * CSV (text/csv): `#`-prefixed first and last lines (strip them with `grep -v '^#'`), then
 *   kind,act,at_ms,count,node,viewer
 *   total,<act>,,<record total>,,
 *   buzz,<act>,<ms since 1970>,<count>,<node>,<viewer>
 * The viewer is the last column, so the first five columns split on commas whatever a raw viewer
 * id holds (raw ids are quoted per RFC 4180 when they contain `,` `"` CR or LF; pseudonyms never
 * do). Per act: total == sum of the count column of its buzz lines (`once`: the number of lines).
 *
 * JSON (application/x-ndjson): one JSON object per line, `type` "export" | "total" | "buzz" | "seal".
 */
import type { Seal } from "./sealed-body.ts";

export type ExportFormat = "csv" | "json";

export interface ExportHeader {
  show: string;
  epoch: string;
  /** This node (the one that read the record). */
  node: string;
  generatedAt: string;
  viewerIds: "pseudonymised" | "raw";
  /** How the pseudonym key was obtained (only with pseudonymised ids). */
  pseudonymKey: string;
  signed: boolean;
  /** Act whose voting was open when the export started (its rows may still be growing), or null. */
  openAct: string | null;
}

export interface ExportLine {
  act: string;
  atMs: number;
  count: number;
  node: string;
  viewer: string;
}

export const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/x-ndjson; charset=utf-8",
};

export const CSV_COLUMNS = "kind,act,at_ms,count,node,viewer";

export function headerLine(f: ExportFormat, h: ExportHeader): string {
  if (f === "json") return JSON.stringify({ type: "export", format: "buzzcast-export/1", ...h }) + "\n";
  const meta = Object.entries(h).map(([k, v]) => `${k}=${v === null ? "none" : String(v)}`);
  return `#buzzcast-export/1,${meta.join(",")}\n${CSV_COLUMNS}\n`;
}

export function totalLine(f: ExportFormat, act: string, total: number): string {
  if (f === "json") return JSON.stringify({ type: "total", act, count: total }) + "\n";
  return `total,${act},,${total},,\n`;
}

export function rowLine(f: ExportFormat, r: ExportLine): string {
  if (f === "json")
    return JSON.stringify({ type: "buzz", act: r.act, atMs: r.atMs, count: r.count, node: r.node, viewer: r.viewer }) + "\n";
  return `buzz,${r.act},${r.atMs},${r.count},${r.node},${csvField(r.viewer)}\n`;
}

export function sealLine(f: ExportFormat, s: Seal): string {
  if (f === "json") return JSON.stringify({ type: "seal", sha256: s.sha256, hmacSha256: s.hmacSha256 }) + "\n";
  return `#sha256=${s.sha256},hmac-sha256=${s.hmacSha256 ?? "none"}\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
