/**
 * The admin and public HTTP API as the console uses it. Bodies and answers are the shared protocol
 * types. Every failure becomes an ApiError carrying the HTTP status and the server's error code, so
 * the page can say exactly what went wrong.
 */
import type { PutShowBody, ShowInfo, ShowState, StageBody } from "../../../shared/protocol.ts";

export type ShowSummary = Pick<ShowInfo, "id" | "title">;

/** GET /api/shows/:show/timeline: [bucket start (ms since 1970), counted buzzes] per interval. */
export interface Timeline {
  show: string;
  epoch: string;
  act: string;
  intervalMs: number;
  points: Array<[number, number]>;
}

/** GET /api/shows/:show/audit: per act, the live total, the record's and the audit log's, and whether all agree. */
export interface AuditReport {
  show: string;
  epoch: string;
  acts: Record<string, { live: number | null; record: number; logged: number; match: boolean }>;
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly request: string,
  ) {
    super(message);
  }
  /** One line for the page: what was asked, what came back. */
  describe(): string {
    const status = this.status === 0 ? "no answer" : `HTTP ${this.status}`;
    return `${this.request} failed — ${status} ${this.code}: ${this.message}`;
  }
}

/** A non-2xx answer as an ApiError with the server's `{"error":{code,message}}` (or the status text). */
function failure(res: Response, text: string, json: unknown, request: string): ApiError {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === "string" ? e.code : res.statusText || "error";
  const message = typeof e?.message === "string" ? e.message : text.slice(0, 200) || "(empty answer)";
  return new ApiError(res.status, code, message, request);
}

async function send(method: string, path: string, token: string | null, body?: unknown, accept = "application/json"): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  try {
    const init: RequestInit = { method, headers, cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    return await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network_error", err instanceof Error ? err.message : String(err), `${method} ${path}`);
  }
}

async function call<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const request = `${method} ${path}`;
  const res = await send(method, path, token, body);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    if (res.ok) throw new ApiError(res.status, "bad_response", "the server's answer is not JSON", request);
  }
  if (!res.ok) throw failure(res, text, json, request);
  return json as T;
}

/**
 * The admin export (streamed by the server): the open Response, to be read as a stream; an
 * ApiError (with the server's code) when the answer is not a 2xx.
 */
async function openExport(token: string, id: string, format: "csv" | "json"): Promise<Response> {
  const path = `${showPath(id)}/export?format=${format}`;
  const res = await send("GET", path, token, undefined, "*/*");
  if (res.ok) return res;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the status text is the message
  }
  throw failure(res, text, json, `GET ${path}`);
}

const showPath = (id: string) => `/api/shows/${encodeURIComponent(id)}`;

export const api = {
  /** Resolves when the server accepts the admin token (401 ApiError otherwise); changes nothing. */
  checkToken: (token: string) => call<{ ok: true }>("GET", "/api/admin/session", token),
  listShows: () => call<{ shows: ShowSummary[] }>("GET", "/api/shows", null),
  getShow: (id: string) => call<ShowState>("GET", showPath(id), null),
  putShow: (token: string, id: string, body: PutShowBody) => call<ShowState>("PUT", showPath(id), token, body),
  setStage: (token: string, id: string, body: StageBody) => call<ShowState>("POST", `${showPath(id)}/stage`, token, body),
  reset: (token: string, id: string) => call<ShowState>("POST", `${showPath(id)}/reset`, token),
  audit: (token: string, id: string) => call<AuditReport>("GET", `${showPath(id)}/audit`, token),
  openExport,
  timeline: (id: string, act: string) => call<Timeline>("GET", `${showPath(id)}/timeline?act=${encodeURIComponent(act)}`, null),
};
