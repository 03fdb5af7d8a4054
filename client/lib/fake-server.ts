/**
 * Test helper (not part of the public API): a tiny scripted `ws` server on a loopback port that
 * speaks protocol v2 through the shared codec when the client offers `buzzcast.v2` (and `v2` is
 * on), v1 JSON otherwise. It records every handshake's offer and every decoded client frame, and
 * answers hello with a welcome; everything else is up to the test's script.
 */
import { WebSocketServer, type WebSocket } from "ws";
import type { ClientMessage, Welcome } from "../../shared/protocol.ts";
import { V2_SUBPROTOCOL, decodeClientFrame, encodeServerFrame, type V2ClientFrame, type V2Welcome } from "../../shared/v2/index.ts";

export type Seen = { protocol: "v1"; msg: ClientMessage } | { protocol: "v2"; msg: V2ClientFrame };

export interface FakeConn {
  n: number;
  ws: WebSocket;
  protocol: "v1" | "v2";
  /** Sends a v2 frame (encoded by the shared codec) or, on v1, a JSON message. */
  send(frame: Parameters<typeof encodeServerFrame>[0] | object): void;
}

export interface FakeServer {
  url: string;
  /** Per connection: the subprotocols the client offered ("" = none), and the frames it sent. */
  offers: string[];
  seen: Seen[][];
  close(): Promise<void>;
}

export interface FakeOptions {
  /** Select buzzcast.v2 when offered (false: a v1-only server, which answers without it). */
  v2: boolean;
  welcomeV2?: (n: number) => V2Welcome;
  welcomeV1?: (n: number) => Welcome;
  /** Called after each welcome is sent. */
  afterWelcome?: (c: FakeConn) => void;
  /** Called for every client frame; for a hello first, and the welcome follows unless it returns "refused". */
  script?: (c: FakeConn, frame: Seen) => unknown;
}

export const ACTS = [
  { id: "a", name: "A" },
  { id: "b", name: "B" },
  { id: "c", name: "C" },
];

export function v2Welcome(overrides: Partial<V2Welcome> = {}): V2Welcome {
  return {
    type: "welcome",
    show: { id: "s", title: "S", acts: ACTS },
    epoch: "e1",
    epochId: 7,
    seq: 10,
    tickMs: 100,
    policy: "once",
    stage: { act: 1, open: true },
    totals: [5, 6, 7],
    ...overrides,
  };
}

export function v1Welcome(overrides: Partial<Welcome> = {}): Welcome {
  return {
    type: "welcome",
    protocol: 1,
    show: { id: "s", title: "S", acts: ACTS },
    stage: { act: "b", open: true },
    tickMs: 100,
    epoch: "e1",
    seq: 10,
    totals: { a: 5, b: 6, c: 7 },
    policy: "once",
    ...overrides,
  };
}

export async function fakeServer(opts: FakeOptions): Promise<FakeServer> {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => (opts.v2 && protocols.has(V2_SUBPROTOCOL) ? V2_SUBPROTOCOL : false),
  });
  await new Promise((r) => wss.once("listening", r));
  const offers: string[] = [];
  const seen: Seen[][] = [];
  wss.on("connection", (ws, req) => {
    const n = seen.length;
    offers.push(req.headers["sec-websocket-protocol"] ?? "");
    seen.push([]);
    const protocol = ws.protocol === V2_SUBPROTOCOL ? "v2" : "v1";
    const conn: FakeConn = {
      n,
      ws,
      protocol,
      send: (frame) =>
        ws.send(protocol === "v2" ? encodeServerFrame(frame as Parameters<typeof encodeServerFrame>[0]) : JSON.stringify(frame)),
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const frame: Seen =
        protocol === "v2"
          ? { protocol, msg: decodeClientFrame(isBinary ? new Uint8Array(data) : new Uint8Array(0)) }
          : { protocol, msg: JSON.parse(data.toString()) as ClientMessage };
      seen[n]!.push(frame);
      if (frame.msg.type !== "hello") return void opts.script?.(conn, frame);
      if (opts.script?.(conn, frame) === "refused") return;
      conn.send(protocol === "v2" ? (opts.welcomeV2?.(n) ?? v2Welcome()) : (opts.welcomeV1?.(n) ?? v1Welcome()));
      if (opts.afterWelcome) opts.afterWelcome(conn);
    });
  });
  const addr = wss.address();
  if (addr === null || typeof addr === "string") throw new Error("unexpected server address");
  return {
    url: `ws://127.0.0.1:${addr.port}/ws`,
    offers,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
