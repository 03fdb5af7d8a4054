/**
 * One WebSocket upgrade attempt, for admission tests: resolves with 101 (the socket is closed again
 * at once) or the refusal's status, Retry-After and JSON error code. Never rejects on a refusal;
 * rejects only when the connection itself fails.
 */
import WebSocket from "ws";

export interface Attempt {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
}

export function tryUpgrade(wsUrl: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers, ...(localAddress ? { localAddress } : {}) });
    ws.on("open", () => {
      ws.terminate();
      resolve({ status: 101, retryAfter: undefined, code: undefined });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => {
        let code: string | undefined;
        try {
          const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
          code = typeof parsed.error?.message === "string" ? parsed.error.code : undefined;
        } catch {
          code = undefined; // not JSON (e.g. HAProxy's own 503 page): no error code
        }
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], code });
      });
    });
    ws.on("error", (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}
