/**
 * A promise-friendly wrapper around one LeanConnection: for tests, the runner's observer and
 * conformance checks. Not for load (it keeps every message as a string).
 */
import { dialectByName, type DialectName } from "./dialect.ts";
import type { Offer } from "./handshake.ts";
import { LeanConnection, type LeanEvents } from "./lean-connection.ts";

export interface SingleClient {
  readonly conn: LeanConnection;
  /** Every protocol message received, in order. */
  readonly messages: string[];
  /** Each message's size on the wire (frame headers included; compressed size when deflated). */
  readonly wireSizes: number[];
  /** Resolves with the first message (from now on, or already received at index >= `from`) matching `pred`. */
  waitFor(pred: (msg: string) => boolean, timeoutMs?: number, from?: number): Promise<string>;
  send(type: string, json: string): boolean;
  close(code?: number, reason?: string): void;
  readonly closed: Promise<{ code: number; reason: string; error: string | undefined }>;
}

export interface SingleClientOptions {
  dialect?: DialectName;
  localAddress?: string;
  sndbuf?: number;
  /** Subprotocol and permessage-deflate offers. */
  offer?: Offer;
}

/** Opens a connection to `url` (ws://host:port/path) and resolves once the protocol layer is open. */
export function openSingleClient(url: string, opts: SingleClientOptions = {}, timeoutMs = 10_000): Promise<SingleClient> {
  const u = new URL(url);
  const messages: string[] = [];
  const wireSizes: number[] = [];
  const waiters: Array<{ pred: (m: string) => boolean; resolve: (m: string) => void }> = [];
  let resolveClosed!: (v: { code: number; reason: string; error: string | undefined }) => void;
  const closed = new Promise<{ code: number; reason: string; error: string | undefined }>((r) => (resolveClosed = r));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`connect to ${url} timed out`));
    }, timeoutMs);
    const events: LeanEvents = {
      open: () => {
        clearTimeout(timer);
        resolve(client);
      },
      message: (c, data, start, end) => {
        const msg = data.toString("utf8", start, end);
        messages.push(msg);
        wireSizes.push(c.messageWireBytes);
        for (let i = waiters.length - 1; i >= 0; i--) {
          const w = waiters[i]!;
          if (w.pred(msg)) {
            waiters.splice(i, 1);
            w.resolve(msg);
          }
        }
      },
      closed: (_c, code, reason, error) => {
        clearTimeout(timer);
        resolveClosed({ code, reason, error });
        reject(new Error(`connection to ${url} closed before opening: ${code} ${error ?? reason}`));
      },
    };
    const conn = new LeanConnection(0, events, dialectByName(opts.dialect ?? "ws"));
    const client: SingleClient = {
      conn,
      messages,
      wireSizes,
      closed,
      send: (type, json) => conn.send(type, json),
      close: (code, reason) => conn.close(code, reason),
      waitFor(pred, waitMs = 10_000, from = messages.length) {
        const found = messages.slice(from).find(pred);
        if (found !== undefined) return Promise.resolve(found);
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error("timed out waiting for a message")), waitMs);
          waiters.push({
            pred,
            resolve: (m) => {
              clearTimeout(t);
              res(m);
            },
          });
        });
      },
    };
    conn.connect(
      { host: u.hostname, port: Number(u.port), path: u.pathname + u.search },
      {
        sndbuf: opts.sndbuf ?? 0,
        readBuffer: Buffer.allocUnsafe(64 * 1024),
        ...(opts.offer ? { offer: opts.offer } : {}),
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
    );
  });
}
