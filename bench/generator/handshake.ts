/**
 * RFC 6455 section 4.1 client opening handshake: the upgrade request and the validation of the
 * server's 101 response (status, Upgrade/Connection headers, Sec-WebSocket-Accept), with two
 * optional offers: a subprotocol (protocol v2: `buzzcast.v2`, which the answer must select) and
 * permessage-deflate (RFC 7692; the answer may accept it, with or without context takeover).
 */
import { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEADER_END = Buffer.from("\r\n\r\n");
/** A response head longer than this is refused rather than buffered without bound. */
export const MAX_RESPONSE_HEAD = 16 * 1024;

export function newHandshakeKey(): string {
  return randomBytes(16).toString("base64");
}

export function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

/** What a connection offers beyond plain RFC 6455. */
export interface Offer {
  /** Sec-WebSocket-Protocol to offer; the server must select it. */
  subprotocol?: string | undefined;
  /** Offer permessage-deflate (the server may decline). */
  deflate?: boolean;
}

export const DEFLATE_OFFER = "permessage-deflate; client_max_window_bits";

export function upgradeRequest(host: string, pathAndQuery: string, key: string, offer: Offer = {}): string {
  return (
    `GET ${pathAndQuery} HTTP/1.1\r\n` +
    `Host: ${host}\r\n` +
    "Upgrade: websocket\r\n" +
    "Connection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\n` +
    (offer.subprotocol !== undefined ? `Sec-WebSocket-Protocol: ${offer.subprotocol}\r\n` : "") +
    (offer.deflate === true ? `Sec-WebSocket-Extensions: ${DEFLATE_OFFER}\r\n` : "") +
    "Sec-WebSocket-Version: 13\r\n\r\n"
  );
}

export type HandshakeResult =
  | { kind: "incomplete" }
  /** deflate: "off" (not negotiated), "no-context" (server_no_context_takeover: every message
   *  inflates alone), "context" (the server keeps its window: inflate with one context per connection). */
  | { kind: "ok"; bodyStart: number; deflate: "off" | "no-context" | "context" }
  | { kind: "rejected"; status: number; message: string };

/** Validates the response head in `head` (bytes received so far). `bodyStart` is the first frame byte. */
export function parseUpgradeResponse(head: Buffer, key: string, offer: Offer = {}): HandshakeResult {
  const endIdx = head.indexOf(HEADER_END);
  if (endIdx < 0) {
    if (head.length > MAX_RESPONSE_HEAD) return { kind: "rejected", status: 0, message: "response head too long" };
    return { kind: "incomplete" };
  }
  const lines = head.toString("latin1", 0, endIdx).split("\r\n");
  const statusLine = lines[0] ?? "";
  const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  const status = m ? Number(m[1]) : 0;
  if (status !== 101) return { kind: "rejected", status, message: `expected 101, got "${statusLine}"` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  if ((headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return { kind: "rejected", status, message: "missing Upgrade: websocket" };
  }
  if (
    !(headers.get("connection") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes("upgrade")
  ) {
    return { kind: "rejected", status, message: "missing Connection: Upgrade" };
  }
  if (headers.get("sec-websocket-accept") !== acceptFor(key)) {
    return { kind: "rejected", status, message: "wrong Sec-WebSocket-Accept" };
  }
  const ext = headers.get("sec-websocket-extensions");
  if (ext !== undefined && (offer.deflate !== true || !/^permessage-deflate\b/i.test(ext))) {
    return { kind: "rejected", status, message: `server negotiated an extension the client did not offer: ${ext}` };
  }
  const sub = headers.get("sec-websocket-protocol");
  if (sub !== offer.subprotocol) {
    return { kind: "rejected", status, message: `subprotocol: offered ${offer.subprotocol ?? "none"}, server selected ${sub ?? "none"}` };
  }
  const deflate = ext === undefined ? "off" : /server_no_context_takeover/i.test(ext) ? "no-context" : "context";
  return { kind: "ok", bodyStart: endIdx + HEADER_END.length, deflate };
}
