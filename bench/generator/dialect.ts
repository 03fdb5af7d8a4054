/**
 * How protocol v1 messages travel inside WebSocket text frames.
 *  - "ws": one protocol JSON message per text frame, at the server's /ws path (our server, the ws and
 *    bare-uWS baselines).
 *  - "socketio": the socket.io baseline, spoken natively: engine.io v4 over the websocket transport
 *    (`/socket.io/?EIO=4&transport=websocket`), packets are text frames whose first character is the
 *    engine.io type (0 open, 1 close, 2 ping, 3 pong, 4 message) and, for messages, the socket.io type
 *    (0 connect, 1 disconnect, 2 event). A protocol message `m` is the event `42["<m.type>", m]`.
 *    Handshake: server `0{...}` -> client `40` -> server `40{...}`; the server pings (`2`), the client
 *    must answer `3` within pingTimeout or be dropped.
 */
export type DialectName = "ws" | "socketio";

export const SOCKETIO_PATH = "/socket.io/?EIO=4&transport=websocket";

/** What a received text frame means at the dialect level. */
export type Incoming =
  | { kind: "message"; start: number; end: number }
  | { kind: "reply"; text: string; opened: boolean }
  | { kind: "opened" }
  | { kind: "ignore" }
  | { kind: "closed"; reason: string };

export interface Dialect {
  readonly name: DialectName;
  /** Request path for the upgrade, given the path of the URL the user passed. */
  path(urlPath: string): string;
  /** Whether the protocol layer is usable as soon as the WebSocket is open. */
  readonly openOnUpgrade: boolean;
  /** Wraps one protocol JSON message (whose `type` is `type`). */
  wrap(type: string, json: string): string;
  /** Bytes before and after a protocol JSON message of type `type` inside the frame. */
  framing(type: string): { prefix: string; suffix: string };
  /** Classifies a received text payload `data[start, end)`. */
  classify(data: Buffer, start: number, end: number): Incoming;
}

const IGNORE: Incoming = { kind: "ignore" };
const OPENED: Incoming = { kind: "opened" };

export const wsDialect: Dialect = {
  name: "ws",
  path: (urlPath) => urlPath,
  openOnUpgrade: true,
  wrap: (_type, json) => json,
  framing: () => ({ prefix: "", suffix: "" }),
  classify: (_data, start, end) => ({ kind: "message", start, end }),
};

const CH_0 = 0x30,
  CH_1 = 0x31,
  CH_2 = 0x32,
  CH_4 = 0x34,
  CH_LBRACE = 0x7b,
  CH_RBRACKET = 0x5d;

export const socketioDialect: Dialect = {
  name: "socketio",
  path: () => SOCKETIO_PATH,
  openOnUpgrade: false,
  wrap: (type, json) => `42["${type}",${json}]`,
  framing: (type) => ({ prefix: `42["${type}",`, suffix: "]" }),
  classify(data, start, end) {
    const eio = data[start];
    if (eio === CH_4) {
      const sio = data[start + 1];
      if (sio === CH_2) {
        // 42["event",{...}] (no namespace, no ack id): the object spans from the first '{' to before ']'.
        let i = start + 2;
        while (i < end && data[i] !== CH_LBRACE) i++;
        let j = end - 1;
        while (j > i && data[j] !== CH_RBRACKET) j--;
        return i < j ? { kind: "message", start: i, end: j } : IGNORE;
      }
      if (sio === CH_0) return OPENED;
      if (sio === CH_1) return { kind: "closed", reason: "socket.io disconnect" };
      return IGNORE;
    }
    if (eio === CH_0) return { kind: "reply", text: "40", opened: false };
    if (eio === CH_2) return { kind: "reply", text: "3", opened: false };
    if (eio === CH_1) return { kind: "closed", reason: "engine.io close" };
    return IGNORE;
  },
};

export function dialectByName(name: DialectName): Dialect {
  return name === "ws" ? wsDialect : socketioDialect;
}
