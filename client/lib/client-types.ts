/** The client library's public types: states, events, options and buzz outcomes. */
import type { Ack, ShowInfo, Stage, Totals, Welcome } from "./protocol-types.ts";
import type { AckOutcome } from "./ack-ledger.ts";
import type { ReconnectOptions } from "./backoff.ts";
import type { BuzzClientError } from "./errors.ts";
import type { FrameCheck } from "./frame-check.ts";
import type { WebSocketConstructor } from "./socket.ts";
import type { ProtocolName } from "./wire.ts";

export type ConnectionState = "idle" | "connecting" | "live" | "reconnecting" | "closed";
/**
 * How a buzz ended: "counted" or a reject reason (the server's word), "rejected_other" (not counted,
 * for a reason a newer server added and this library does not know), "not_sent" (it never left this
 * device), or "unconfirmed" (sent, then the connection dropped before the ack, and resending it
 * could count it twice).
 */
export type BuzzOutcome = AckOutcome | "not_sent";

/**
 * A state event. `connecting` once per connect(); `reconnecting` exactly once per lost connection or
 * failed attempt (it announces the next attempt and its delay; the attempt itself emits nothing);
 * `live` at every welcome; `closed` at the end. A server drain is a state, not an error: the close
 * comes as `reconnecting` with reason "draining" (code 1001) and no `error` event.
 */
export interface StateChange {
  state: ConnectionState;
  /** Close code of the connection that just ended (reconnecting / closed). */
  code?: number;
  /** Why it ended: "draining" for a server drain, else the close frame's reason text. */
  reason?: string;
  /** reconnecting: delay before the next attempt (ms), and how many attempts preceded it. */
  retryInMs?: number;
  attempt?: number;
}

export interface TotalsUpdate {
  epoch: string;
  seq: number;
  totals: Readonly<Totals>;
  /** Viewers of the show, fleet-wide, from the latest frame that carried it; absent when the server sends none. */
  watching?: number;
}

export interface BuzzClientEvents {
  state: StateChange;
  /** The snapshot, after every (re)connection. `show`, `stage` and `totals` events follow it. */
  welcome: Welcome;
  show: { show: ShowInfo; epoch: string };
  stage: Stage;
  totals: TotalsUpdate;
  ack: Ack;
  /** Each settled buzz (also delivered through its promise). */
  buzz: { act: string; outcome: BuzzOutcome };
  error: BuzzClientError;
}

/**
 * Which wire protocol to speak (default "v1"):
 *  - "v1": JSON text frames, no subprotocol offered.
 *  - "v2": offers the subprotocol `buzzcast.v2` (binary frames, docs/protocol-v2.md); a server
 *    that answers without it gets a `protocol_unavailable` error and a reconnect with backoff.
 *  - "auto": offers v2 on every connection and speaks whatever the server chose: on a v1-only
 *    server the same connection continues in v1 (browsers, React Native); where the WebSocket
 *    library refuses an answer without the offered subprotocol (Node's `ws`: "Server sent no
 *    subprotocol"), the client reconnects at once without the offer and speaks v1.
 */
export type ProtocolChoice = ProtocolName | "auto";

export interface BuzzClientOptions {
  /** ws(s)://host:port/ws, or an http(s) URL of the server (see toWsUrl). */
  url: string;
  show: string;
  /** Persistent viewer id sent in `hello` (the `once` policy counts one buzz per viewer per act). */
  viewer?: string;
  /** Wire protocol (default "v1"; see ProtocolChoice). */
  protocol?: ProtocolChoice;
  /**
   * Signed viewer token, fetched before every connection attempt, reconnects included,
   * and sent in `hello`. A rejection or a non-string value is reported (`token_unavailable`) and
   * retried with backoff. After a close `unauthorized` (4012) the client reconnects only when this
   * is given (with a fresh token); without it, it stops.
   */
  getToken?: () => string | Promise<string>;
  /** WebSocket class; default the global one. In Node: `import { WebSocket } from "ws"`. */
  WebSocket?: WebSocketConstructor;
  /** Backoff settings, or false to never reconnect. */
  reconnect?: Partial<ReconnectOptions> | false;
  /** Hold buzzes made while disconnected and send them once live (default true). */
  queueWhileDisconnected?: boolean;
  /** At most this many held buzzes (default 64); more settle "not_sent". */
  maxQueued?: number;
  /** A held buzz not sent within this time settles "not_sent" (default 30 s). */
  queueTimeoutMs?: number;
  /** Socket open + `welcome` must take less than this, or the attempt is abandoned (default 10 s). */
  connectTimeoutMs?: number;
  /** A live connection with no frame for this long is dropped and re-established (default 10 s; 0 = off). */
  staleAfterMs?: number;
  /** Check of incoming frames (default basicFrameCheck; strictFrameCheck runs the zod schema). */
  frameCheck?: FrameCheck;
  /** Random source for jitter (tests). */
  random?: () => number;
}
