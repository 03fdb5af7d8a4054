/**
 * The slice of the WebSocket API the client uses: satisfied by the browser's and React Native's
 * global WebSocket and by Node's `ws` package, so one library runs on all three.
 */
import { WS_PATH } from "../../shared/codes.ts";
import { BuzzClientError } from "./errors.ts";

/** A handler property typed with method bivariance, so `ws`'s richer event types are accepted. */
type Handler<E> = { bivarianceHack(ev: E): void }["bivarianceHack"];

export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ("" when none); read once the socket is open. */
  readonly protocol?: string;
  /** Set to "arraybuffer" so binary frames (protocol v2) arrive as ArrayBuffer, not Blob. */
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/** `protocols`: the subprotocols offered (Sec-WebSocket-Protocol); protocol v2 offers one. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState of an open socket (the same in every implementation). */
export const OPEN = 1;

export function defaultWebSocket(): WebSocketConstructor {
  const g = globalThis as { WebSocket?: WebSocketConstructor };
  if (typeof g.WebSocket !== "function") {
    throw new BuzzClientError("no_websocket", 'no global WebSocket here; pass one, e.g. { WebSocket } from "ws"');
  }
  return g.WebSocket;
}

/**
 * Accepts a ws(s):// URL as is; turns an http(s):// URL (a page, or the server's base URL) into the
 * WebSocket endpoint on the same host: ws(s)://host:port/ws. String-based on purpose: React
 * Native's URL class does not implement the setters.
 */
export function toWsUrl(url: string): string {
  const m = /^(https?):\/\/([^/?#]+)/i.exec(url);
  if (m === null) return url;
  return `${m[1]!.toLowerCase() === "https" ? "wss" : "ws"}://${m[2]!}${WS_PATH}`;
}
