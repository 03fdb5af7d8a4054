/**
 * What is settled about a WebSocket connection before our frame handlers see anything: its wire
 * protocol (negotiated in the handshake, fixed for the connection) and the drops uWebSockets.js
 * makes on its own.
 *
 * Negotiation: a client offering `buzzcast.v2` (Sec-WebSocket-Protocol, in any position of its
 * list) is answered with it and speaks v2 (binary frames); one offering nothing, or only
 * subprotocols not listed here, gets v1 (JSON text frames) and no subprotocol in the answer.
 *
 * What uWebSockets.js enforces before our handlers run: it drops the connection without a close
 * frame (the client sees 1006, no error frame can be sent) and calls our close handler with code
 * 1006 and a reason, by which the drop is counted (buzzcast_closes_total):
 *  - a frame over `hardPayloadLimit` (16 KB), reason "Received too big message": `too_large_hard`;
 *  - a text frame that is not valid UTF-8, reason "Received invalid UTF-8": `invalid_utf8_hard`.
 */
import { V2_SUBPROTOCOL } from "../../shared/v2/index.ts";
import type { WireProtocol } from "../broadcast/wire-metrics.ts";

/** Subprotocols this server speaks, most preferred first (protocol v1 uses none). */
const SUBPROTOCOLS: readonly string[] = [V2_SUBPROTOCOL];

/** The subprotocol to answer for a Sec-WebSocket-Protocol offer; "" for none. */
export function negotiateSubprotocol(offered: string): string {
  if (SUBPROTOCOLS.length === 0 || offered === "") return "";
  const offers = offered.split(",").map((p) => p.trim());
  return SUBPROTOCOLS.find((p) => offers.includes(p)) ?? "";
}

/** The wire protocol of a connection whose handshake answered `subprotocol`. */
export function protocolOf(subprotocol: string): WireProtocol {
  return subprotocol === V2_SUBPROTOCOL ? 2 : 1;
}

/** Reasons uWS gives our close handler (with code 1006) when it drops a connection itself. */
const UWS_DROPS: ReadonlyMap<string, string> = new Map([
  ["Received too big message", "too_large_hard"],
  ["Received invalid UTF-8", "invalid_utf8_hard"],
]);
const decoder = new TextDecoder();

/** The close name under which a uWS drop with this close reason is counted (undefined: not one). */
export function uwsDrop(reason: ArrayBuffer): string | undefined {
  return reason.byteLength > 0 ? UWS_DROPS.get(decoder.decode(reason)) : undefined;
}
