/**
 * RFC 6455 section 4.1 client opening handshake: the upgrade request and the validation of the
 * server's 101 response (status, Upgrade/Connection headers, Sec-WebSocket-Accept).
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

export function upgradeRequest(host: string, pathAndQuery: string, key: string): string {
  return (
    `GET ${pathAndQuery} HTTP/1.1\r\n` +
    `Host: ${host}\r\n` +
    "Upgrade: websocket\r\n" +
    "Connection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\n` +
    "Sec-WebSocket-Version: 13\r\n\r\n"
  );
}

export type HandshakeResult =
  { kind: "incomplete" } | { kind: "ok"; bodyStart: number } | { kind: "rejected"; status: number; message: string };

/** Validates the response head in `head` (bytes received so far). `bodyStart` is the first frame byte. */
export function parseUpgradeResponse(head: Buffer, key: string): HandshakeResult {
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
  if (headers.has("sec-websocket-extensions")) {
    return { kind: "rejected", status, message: "server negotiated an extension the client did not offer" };
  }
  return { kind: "ok", bodyStart: endIdx + HEADER_END.length };
}
