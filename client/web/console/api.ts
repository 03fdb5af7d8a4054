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

async function call<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const request = `${method} ${path}`;
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    const init: RequestInit = { method, headers, cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network_error", err instanceof Error ? err.message : String(err), request);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    if (res.ok) throw new ApiError(res.status, "bad_response", "the server's answer is not JSON", request);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof e?.code === "string" ? e.code : res.statusText || "error";
    const message = typeof e?.message === "string" ? e.message : text.slice(0, 200) || "(empty answer)";
    throw new ApiError(res.status, code, message, request);
  }
  return json as T;
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
  timeline: (id: string, act: string) => call<Timeline>("GET", `${showPath(id)}/timeline?act=${encodeURIComponent(act)}`, null),
};
