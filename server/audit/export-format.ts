/**
 * The two export layouts (`buzzcast-export/2`). Both are line-oriented: a header, one `onair` line
 * per act and node that recorded what it put on air at the act's close, one `total` line per act,
 * one line per audit row, and the seal as the LAST line (sealed-body.ts), so `sed '$d'` gives
 * exactly the bytes the seal covers. Lines end with "\n" (a raw viewer id holding a line break
 * spans lines inside its quotes: read the CSV with a CSV parser, such as `buzzcast-verify`).
 *
 * CSV (text/csv): a `#`-prefixed first line (`#buzzcast-export/2,key=value,...`) and a `#seal,...`
 * last line, in between RFC 4180 records
 *   kind,act,at_ms,count,node,viewer
 *   onair,<act>,<frame instant, ms since 1970>,<total on air>,<node>,
 *   total,<act>,,<record total>,,
 *   buzz,<act>,<ms since 1970>,<count>,<node>,<viewer>
 * The viewer (last column) is quoted per RFC 4180 when it contains `,` `"` CR or LF; pseudonyms
 * never do. Per act: total == sum of the count column of its buzz lines (`once`: every count is 1
 * and no viewer appears twice), and every `onair` line of a closed act == its total.
 *
 * JSON (application/x-ndjson): one JSON object per line, `type` "export" | "onair" | "total" | "buzz" | "seal".
 */
import type { Seal } from "./sealed-body.ts";

export type ExportFormat = "csv" | "json";

export const FORMAT_NAME = "buzzcast-export/2";

export interface ExportHeader {
  show: string;
  epoch: string;
  /** This node (the one that read the record). */
  node: string;
  generatedAt: string;
  viewerIds: "pseudonymised" | "raw";
  /** How the pseudonym key was obtained (only with pseudonymised ids; "none" for raw ids). */
  pseudonymKey: string;
  /** The buzz policy of this server: under `once` a viewer counts at most once per act. */
  policy: "once" | "unlimited";
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

export interface OnAirLine {
  act: string;
  atMs: number;
  total: number;
  node: string;
}

export const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/x-ndjson; charset=utf-8",
};

export const CSV_COLUMNS = "kind,act,at_ms,count,node,viewer";

export function headerLine(f: ExportFormat, h: ExportHeader): string {
  if (f === "json") return JSON.stringify({ type: "export", format: FORMAT_NAME, ...h }) + "\n";
  const meta = Object.entries(h).map(([k, v]) => `${k}=${v === null ? "none" : String(v)}`);
  return `#${FORMAT_NAME},${meta.join(",")}\n${CSV_COLUMNS}\n`;
}

export function onAirLine(f: ExportFormat, o: OnAirLine): string {
  if (f === "json") return JSON.stringify({ type: "onair", act: o.act, atMs: o.atMs, count: o.total, node: o.node }) + "\n";
  return `onair,${o.act},${o.atMs},${o.total},${csvField(o.node)},\n`;
}

export function totalLine(f: ExportFormat, act: string, total: number): string {
  if (f === "json") return JSON.stringify({ type: "total", act, count: total }) + "\n";
  return `total,${act},,${total},,\n`;
}

export function rowLine(f: ExportFormat, r: ExportLine): string {
  if (f === "json")
    return JSON.stringify({ type: "buzz", act: r.act, atMs: r.atMs, count: r.count, node: r.node, viewer: r.viewer }) + "\n";
  return `buzz,${r.act},${r.atMs},${r.count},${csvField(r.node)},${csvField(r.viewer)}\n`;
}

export function sealLine(f: ExportFormat, s: Seal): string {
  if (f === "json") return JSON.stringify({ type: "seal", sha256: s.sha256, ed25519: s.ed25519, key: s.key }) + "\n";
  return `#seal,sha256=${s.sha256},ed25519=${s.ed25519 ?? "none"},key=${s.key ?? "none"}\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
