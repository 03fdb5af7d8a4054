/**
 * Errors the client library reports. Every one carries a stable `code`; server-sent codes (keys of
 * CLOSE in shared/codes.ts) pass through unchanged so callers can switch on them.
 */
import type { CloseName } from "../../shared/codes.ts";

export type ClientErrorCode =
  /** No WebSocket class was given and the runtime has no global one (Node 20). */
  | "no_websocket"
  /** The server sent a frame that is not valid in the connection's protocol (v1 JSON or v2 binary); it was dropped. */
  | "bad_server_frame"
  /** An `ack` did not add up with the buzzes in flight (server bug); outcomes were resolved as well as possible. */
  | "ack_mismatch"
  /** The socket reported an error (the close that follows decides whether to reconnect). */
  | "socket_error"
  /** No frame arrived for `staleAfterMs`; the connection was dropped and will be re-established. */
  | "stale_connection"
  /** Opening the socket and receiving `welcome` took longer than `connectTimeoutMs`. */
  | "connect_timeout"
  /** getToken() threw, rejected, or returned something other than a non-empty string. */
  | "token_unavailable"
  /** protocol "v2": the server answered without the v2 subprotocol (it speaks v1 only). */
  | "protocol_unavailable"
  /** A listener threw; the client kept running. */
  | "listener_failed"
  /** Sent by the server in an `error` frame (usually just before it closes). */
  | CloseName
  | (string & {});

export class BuzzClientError extends Error {
  override readonly name = "BuzzClientError";
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
