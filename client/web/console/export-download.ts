/**
 * Saves the show's sealed export (GET /api/shows/:show/export, admin) as a file. The token goes in
 * the Authorization header, never in a URL, so the browser cannot fetch it by navigation: the body
 * is read here as a stream (progress reported per chunk), kept as a Blob (Chromium pages large
 * blobs to disk) and handed to the browser's download with the server's file name. The bytes are
 * saved exactly as sent, seal line included, so the file verifies as documented in
 * docs/operations.md; a body that does not end with the seal line (the server cut it short) is
 * refused, never saved as if complete. Exports of many millions of rows are better fetched with
 * curl (same route).
 */
import { api } from "./api.ts";

export type ExportFormat = "csv" | "json";

export interface SavedExport {
  filename: string;
  bytes: number;
}

/** `attachment; filename="x.csv"` -> x.csv; a safe default otherwise. */
export function fileNameOf(disposition: string | null, show: string, format: ExportFormat): string {
  const m = /filename="([^"/\\]+)"/.exec(disposition ?? "");
  return m?.[1] ?? `buzzcast-${show}.${format === "csv" ? "csv" : "ndjson"}`;
}

/** Whether the body's last line is the export's seal (CSV `#seal,...`, NDJSON `{"type":"seal",...}`). */
export function endsWithSeal(tail: string, format: ExportFormat): boolean {
  if (!tail.endsWith("\n")) return false;
  const last = tail.slice(tail.lastIndexOf("\n", tail.length - 2) + 1);
  return format === "csv" ? last.startsWith("#seal,") : last.startsWith('{"type":"seal"');
}

const TAIL_BYTES = 512;

export async function saveExport(
  token: string,
  show: string,
  format: ExportFormat,
  progress: (bytes: number) => void,
): Promise<SavedExport> {
  const res = await api.openExport(token, show, format);
  const parts: Uint8Array[] = [];
  let bytes = 0;
  if (res.body === null) throw new Error("the export answer has no body");
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    bytes += value.byteLength;
    progress(bytes);
  }
  const tail = new TextDecoder().decode(lastBytes(parts, TAIL_BYTES));
  if (!endsWithSeal(tail, format))
    throw new Error(`the export was cut short after ${bytes} bytes (no seal line): nothing saved, try again`);
  const filename = fileNameOf(res.headers.get("content-disposition"), show, format);
  const type = res.headers.get("content-type") ?? "application/octet-stream";
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once can cancel the download in some browsers; a minute is ample for it to start.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { filename, bytes };
}

/** The last `n` bytes over a list of chunks. */
function lastBytes(parts: readonly Uint8Array[], n: number): Uint8Array {
  const picked: Uint8Array[] = [];
  let have = 0;
  for (let i = parts.length - 1; i >= 0 && have < n; i--) {
    const p = parts[i] as Uint8Array;
    const take = p.subarray(Math.max(0, p.byteLength - (n - have)));
    picked.unshift(take);
    have += take.byteLength;
  }
  const out = new Uint8Array(have);
  let at = 0;
  for (const p of picked) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
