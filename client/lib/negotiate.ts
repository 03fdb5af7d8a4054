/**
 * Protocol negotiation (docs/protocol-v2.md, "Negotiation"): what a connection offers and which
 * wire it speaks once open, and how a token is fetched for its hello. Pure apart from getToken.
 */
import { V2_SUBPROTOCOL } from "../../shared/v2/constants.ts";
import type { ProtocolChoice } from "./client-types.ts";
import type { FrameCheck } from "./frame-check.ts";
import { V1Wire, type Wire } from "./wire.ts";
import { V2Wire } from "./wire-v2.ts";

/** The subprotocols a connection offers: v2's unless the choice is v1 or this attempt is the fallback. */
export function offerFor(choice: ProtocolChoice, fallback: boolean): string[] | undefined {
  return choice === "v1" || fallback ? undefined : [V2_SUBPROTOCOL];
}

/**
 * The wire for an open socket, from the subprotocol the server selected (`""` or undefined: none,
 * i.e. v1). Null when the choice is "v2" and the server did not select it.
 */
export function wireFor(choice: ProtocolChoice, selected: string | undefined, check: FrameCheck): Wire | null {
  if (selected === V2_SUBPROTOCOL && choice !== "v1") return new V2Wire();
  return choice === "v2" ? null : new V1Wire(check);
}

/**
 * Whether a socket error means "the server answered the upgrade without the subprotocol we
 * offered": Node's `ws` fails such a handshake with exactly this message (ws 8, lib/websocket.js).
 * Browsers and React Native accept the answer and open the socket with `protocol === ""` instead.
 */
export function isSubprotocolRefusal(message: unknown): boolean {
  return typeof message === "string" && /server sent no subprotocol/i.test(message);
}

/** Calls getToken; resolves a non-empty string or rejects with why not. */
export async function fetchToken(getToken: () => string | Promise<string>): Promise<string> {
  const token = await getToken();
  if (typeof token !== "string" || token.length === 0) throw new TypeError(`getToken() returned ${typeof token}, not a non-empty string`);
  return token;
}
