/** The HTTP API calls the bench makes (GET show state; admin: put show, set stage). Loopback only. */
import { type PutShowBody, ShowState, type StageBody } from "../../shared/protocol.ts";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call(url: string, init: RequestInit, timeoutMs = 10_000): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, `${init.method ?? "GET"} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return text === "" ? null : (JSON.parse(text) as unknown);
}

export async function getShowState(httpUrl: string, show: string, timeoutMs?: number): Promise<ShowState> {
  return ShowState.parse(await call(`${httpUrl}/api/shows/${encodeURIComponent(show)}`, { method: "GET" }, timeoutMs));
}

export function sumTotals(totals: Record<string, number>): number {
  return Object.values(totals).reduce((a, b) => a + b, 0);
}

function admin(token: string, body: unknown): RequestInit {
  return { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) };
}

export async function putShow(httpUrl: string, token: string, show: string, body: PutShowBody): Promise<void> {
  await call(`${httpUrl}/api/shows/${encodeURIComponent(show)}`, { method: "PUT", ...admin(token, body) });
}

export async function setStage(httpUrl: string, token: string, show: string, body: StageBody): Promise<void> {
  await call(`${httpUrl}/api/shows/${encodeURIComponent(show)}/stage`, { method: "POST", ...admin(token, body) });
}
