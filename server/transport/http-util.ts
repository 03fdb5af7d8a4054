/**
 * Small helpers for uWS HTTP handlers. uWS rules they enforce: a handler that answers later must
 * register onAborted before returning, and writes made outside the synchronous handler go inside
 * res.cork(). After an abort, `res` must not be touched.
 */
import type { z } from "zod";
import type { HttpRequest, HttpResponse } from "./uws.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (e.g. Retry-After on 429 / 503). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const STATUS: Record<number, string> = {
  200: "200 OK",
  202: "202 Accepted",
  204: "204 No Content",
  304: "304 Not Modified",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  404: "404 Not Found",
  405: "405 Method Not Allowed",
  409: "409 Conflict",
  413: "413 Payload Too Large",
  429: "429 Too Many Requests",
  500: "500 Internal Server Error",
  503: "503 Service Unavailable",
};

export interface Guarded {
  res: HttpResponse;
  aborted: boolean;
  /** Called once when the client aborts (a streaming answer stops waiting for onWritable). */
  onAbort?: (() => void) | undefined;
}

/** Register the abort handler; the returned object tells later code whether it may still write. */
export function guard(res: HttpResponse): Guarded {
  const g: Guarded = { res, aborted: false };
  res.onAborted(() => {
    g.aborted = true;
    g.onAbort?.();
  });
  return g;
}

export function send(
  g: Guarded,
  status: number,
  contentType: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): void {
  if (g.aborted) return;
  g.res.cork(() => {
    g.res.writeStatus(STATUS[status] ?? `${status} Status`);
    g.res.writeHeader("content-type", contentType);
    for (const [k, v] of Object.entries(headers)) g.res.writeHeader(k, v);
    // No HTTP keep-alive: HTTP here is admin calls, scrapes and page loads, never the hot path, and
    // an idle keep-alive socket would outlive a drain (uWS has no way to list and close them; a
    // worker thread that exits with one open aborts the process).
    g.res.end(body, true);
  });
}

export function sendJson(g: Guarded, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  send(g, status, "application/json; charset=utf-8", JSON.stringify(body), { "cache-control": "no-store", ...headers });
}

export function sendError(g: Guarded, err: HttpError): void {
  sendJson(g, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

/** Read the request body, refusing more than `limit` bytes (413). Rejects if the client aborted. */
export function readBody(g: Guarded, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    g.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, "too_large", `request body over ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

/** What route files get from attachHttp (http-api.ts): error handling, admin check, parsing. */
export interface Routes {
  /** Wrap a handler: counts it, answers a thrown HttpError (or anything else, as 500) as JSON. */
  route: (fn: (g: Guarded, req: HttpRequest) => Promise<void> | void) => (res: HttpResponse, req: HttpRequest) => void;
  /** Throws 401 unless the request carries the admin token. */
  requireAdmin: (req: HttpRequest) => void;
  /** Whether the request carries the admin token. */
  isAdmin: (req: HttpRequest) => boolean;
  /**
   * A public read's per-address limit (throws 429 over it); call synchronously in the handler.
   * Returns whether the caller is admin (admins are not limited).
   */
  admitPublic: (g: Guarded, req: HttpRequest) => boolean;
  /** The `:show` parameter, checked (400 otherwise). */
  showIdParam: (req: HttpRequest) => string;
  parseBody: <T extends z.ZodType>(schema: T, buf: Buffer) => z.infer<T>;
}
