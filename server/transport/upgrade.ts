/**
 * The HTTP upgrade of the WebSocket endpoint: admission control first (admission.ts), then the
 * subprotocol negotiation (ws-wire.ts) and the upgrade with a fresh Conn.
 *
 * A refused upgrade is answered before any WebSocket exists: status (503 or 403), `Retry-After` on
 * 503, a JSON error body `{"error":{"code","message"}}` with the refusal's name as code, and the
 * TCP connection closed. Nothing is allocated for it but the answer.
 */
import type { UpgradeRefusal } from "../../shared/codes.ts";
import type { Admission, Refusal } from "./admission.ts";
import type { Conn } from "./connection.ts";
import type { HttpRequest, HttpResponse, us_socket_context_t } from "./uws.ts";
import { forwardedFor } from "./client-address.ts";
import { negotiateSubprotocol, protocolOf } from "./ws-wire.ts";
import type { WireProtocol } from "../broadcast/wire-metrics.ts";

const STATUS_LINE: Record<number, string> = { 403: "403 Forbidden", 503: "503 Service Unavailable" };
const MESSAGES: Record<UpgradeRefusal, string> = {
  connect_rate: "this server is admitting new connections at its limit; retry after Retry-After seconds",
  connect_rate_ip: "too many new connections from your address; retry after Retry-After seconds",
  origin_forbidden: "WebSocket connections from this origin are not allowed",
  server_full: "this server holds all the connections it has descriptors for; retry after Retry-After seconds",
};
const BODIES = Object.fromEntries(
  (Object.keys(MESSAGES) as UpgradeRefusal[]).map((code) => [code, JSON.stringify({ error: { code, message: MESSAGES[code] } })]),
) as Record<UpgradeRefusal, string>;
const decoder = new TextDecoder();

export function upgrade(
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  admission: Admission | null,
  conn: (protocol: WireProtocol) => Conn,
  open: () => number,
): void {
  if (admission !== null) {
    const peer = admission.needsPeer ? decoder.decode(res.getRemoteAddressAsText()) : "";
    const xff = admission.needsPeer ? forwardedFor(req) : "";
    const refusal = admission.check(req.getHeader("origin"), peer, xff, Date.now(), open());
    if (refusal !== null) return refuse(res, refusal);
  }
  const sub = negotiateSubprotocol(req.getHeader("sec-websocket-protocol"));
  res.upgrade(conn(protocolOf(sub)), req.getHeader("sec-websocket-key"), sub, req.getHeader("sec-websocket-extensions"), context);
}

function refuse(res: HttpResponse, r: Refusal): void {
  res.writeStatus(STATUS_LINE[r.status] ?? String(r.status));
  if (r.retryAfterSec !== null) res.writeHeader("Retry-After", String(r.retryAfterSec));
  res.writeHeader("Content-Type", "application/json");
  res.end(BODIES[r.reason], true);
}
