/**
 * One raw WebSocket connection on node:net for the fuzzer: the handshake and the server-frame parser
 * are the bench's lean client's (bench/generator/handshake.ts, frame-parser.ts); what the client
 * sends is exactly the bytes it is given, however malformed. It reports how the server ended the
 * connection: the close frame's code, 1006 when the TCP connection ended without one, and the last
 * error frame seen before it (v1 JSON `error`, v2 type 0x16).
 */
import { connect, type Socket } from "node:net";
import { CLOSE_ABNORMAL } from "../../shared/codes.ts";
import { newHandshakeKey, parseUpgradeResponse, upgradeRequest } from "../../bench/generator/handshake.ts";
import { FrameParser } from "../../bench/generator/frame-parser.ts";

/** How a connection ended. closeCode -1: still open when the case gave up (we then closed it). */
export interface Outcome {
  closeCode: number;
  /** Code of the last error frame before the close: numeric (v2) or the close name (v1); null if none. */
  errorCode: number | string | null;
  /** Server data frames received (welcome, acks, totals...). */
  frames: number;
  /** The handshake was refused (HTTP status) or the socket failed before it completed. */
  refused: string | null;
}

export interface RawOptions {
  port: number;
  host?: string;
  subprotocol?: string | undefined;
  /** After the bytes are written, wait this long for the server to close before closing ourselves. */
  settleMs: number;
}

const V2_ERROR = 0x16;

/** Opens a connection, writes `bytes` after the handshake (in one write per chunk), reports the end. */
export function runRaw(opts: RawOptions, chunks: readonly Buffer[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const key = newHandshakeKey();
    const offer = { subprotocol: opts.subprotocol };
    const out: Outcome = { closeCode: -1, errorCode: null, frames: 0, refused: null };
    let head: Buffer | null = Buffer.alloc(0);
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let weEnded = false;
    const parser = new FrameParser({
      onText(data, start, end) {
        out.frames++;
        const s = data.toString("utf8", start, end);
        if (s.startsWith('{"type":"error"')) out.errorCode = (JSON.parse(s) as { code: string }).code;
      },
      onBinary(data, start, end) {
        out.frames++;
        if (end > start + 1 && data[start] === V2_ERROR) out.errorCode = readVarint(data, start + 1);
      },
      onClose(code) {
        out.closeCode = code;
        finish();
      },
      onPing() {},
      onProtocolError(message) {
        out.refused = `server frame: ${message}`;
        finish();
      },
    });
    parser.allowBinary = true;
    const sock: Socket = connect({ port: opts.port, host: opts.host ?? "127.0.0.1" });
    sock.setNoDelay(true);
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    sock.on("connect", () => sock.write(upgradeRequest(`${opts.host ?? "127.0.0.1"}:${opts.port}`, "/ws", key, offer)));
    sock.on("data", (buf: Buffer) => {
      if (head === null) return parser.feed(buf);
      head = Buffer.concat([head, buf]);
      const r = parseUpgradeResponse(head, key, offer);
      if (r.kind === "incomplete") return;
      if (r.kind === "rejected") {
        out.refused = r.message;
        return finish();
      }
      const rest = head.subarray(r.bodyStart);
      head = null;
      for (const c of chunks) sock.write(c);
      timer = setTimeout(() => {
        // The server is waiting for more (a length that lies, a message left unfinished): end our side.
        weEnded = true;
        sock.end();
        timer = setTimeout(finish, 2_000);
      }, opts.settleMs);
      if (rest.length > 0) parser.feed(rest);
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      if (!settled && out.closeCode === -1 && head === null && !weEnded) out.closeCode = CLOSE_ABNORMAL;
      if (!settled && head !== null && out.refused === null) out.refused = "closed before the handshake completed";
      finish();
    });
  });
}

function readVarint(b: Buffer, at: number): number {
  let v = 0;
  let mul = 1;
  for (let i = at; i < b.length && i < at + 8; i++) {
    v += (b[i]! & 0x7f) * mul;
    if ((b[i]! & 0x80) === 0) return v;
    mul *= 128;
  }
  return -1;
}
