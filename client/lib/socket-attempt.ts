/**
 * One connection attempt's socket: offers the subprotocol the protocol choice asks for, picks the
 * wire once open (negotiate.ts), and reports its events. Events of a socket that is no longer the
 * client's current one (`current(sock)` false: it was abandoned) are dropped here, so late events of
 * an old socket can never act on a newer connection.
 */
import type { ProtocolChoice } from "./client-types.ts";
import { BuzzClientError } from "./errors.ts";
import type { FrameCheck } from "./frame-check.ts";
import { isSubprotocolRefusal, offerFor, wireFor } from "./negotiate.ts";
import type { WebSocketConstructor, WebSocketLike } from "./socket.ts";
import type { Wire } from "./wire.ts";

export interface AttemptOptions {
  WebSocket: WebSocketConstructor;
  url: string;
  protocol: ProtocolChoice;
  /** Offer no subprotocol this time ("auto" after a WebSocket refused a v1 answer). */
  fallback: boolean;
  frameCheck: FrameCheck;
}

export interface AttemptEvents {
  /** The socket is open and speaks `wire`; null when protocol "v2" was required and the server answered v1. */
  open(wire: Wire | null): void;
  data(data: unknown): void;
  /** A socket error (a close event always follows). */
  error(err: BuzzClientError): void;
  /** `refusedOffer`: the WebSocket itself refused an answer without the offered subprotocol (Node's ws). */
  close(code: number, reason: string, refusedOffer: boolean): void;
}

/** Opens the socket (the constructor's exception, e.g. a bad URL, propagates). */
export function openSocket(o: AttemptOptions, current: (s: WebSocketLike) => boolean, ev: AttemptEvents): WebSocketLike {
  const offer = offerFor(o.protocol, o.fallback);
  const sock = offer === undefined ? new o.WebSocket(o.url) : new o.WebSocket(o.url, offer);
  sock.binaryType = "arraybuffer";
  let refused = false;
  sock.onopen = () => {
    if (current(sock)) ev.open(wireFor(o.protocol, sock.protocol, o.frameCheck));
  };
  sock.onmessage = (e) => {
    if (current(sock)) ev.data(e.data);
  };
  sock.onerror = (e) => {
    if (!current(sock)) return;
    const msg = (e as { message?: unknown }).message;
    if (offer !== undefined && isSubprotocolRefusal(msg)) {
      refused = true;
      if (o.protocol === "v2") return ev.error(protocolUnavailable());
    }
    ev.error(new BuzzClientError("socket_error", typeof msg === "string" ? msg : "WebSocket error"));
  };
  sock.onclose = (e) => {
    if (current(sock)) ev.close(e.code, e.reason, refused);
  };
  return sock;
}

export function protocolUnavailable(): BuzzClientError {
  return new BuzzClientError(
    "protocol_unavailable",
    "the server does not speak protocol v2 (it answered without the buzzcast.v2 subprotocol)",
  );
}
