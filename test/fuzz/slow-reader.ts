/**
 * A raw WebSocket client that says hello and then stops reading (node:net pause: the kernel's
 * receive buffer fills, then the server's send buffer). `resume()` reads again, discarding
 * everything but the last bytes, and resolves the close code found at the end of the stream
 * (1006 when the stream ends without a close frame).
 */
import { connect, type Socket } from "node:net";
import { newHandshakeKey, parseUpgradeResponse, upgradeRequest } from "../../bench/generator/handshake.ts";
import { encodeText } from "../../bench/generator/ws-frame.ts";

export class SlowReader {
  private sock!: Socket;
  private tail = Buffer.alloc(0);
  ended = false;
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.closed = new Promise((r) => (this.markClosed = r));
  }

  /** Connects and says hello; rejects when the upgrade is refused, the socket ends first, or after `timeoutMs`. */
  static open(port: number, show: string, timeoutMs = 30_000): Promise<SlowReader> {
    const r = new SlowReader();
    return new Promise((resolve, reject) => {
      const key = newHandshakeKey();
      const s = connect({ port, host: "127.0.0.1" });
      r.sock = s;
      let head = Buffer.alloc(0);
      const fail = (why: string): void => {
        clearTimeout(timer);
        s.destroy();
        reject(new Error(`slow reader: ${why}`));
      };
      const timer = setTimeout(() => fail(`no upgrade answer within ${timeoutMs} ms (${head.length} bytes read)`), timeoutMs);
      const onData = (b: Buffer) => {
        head = Buffer.concat([head, b]);
        const h = parseUpgradeResponse(head, key);
        if (h.kind === "incomplete") return;
        s.off("data", onData);
        if (h.kind === "rejected") return fail(h.message);
        clearTimeout(timer);
        s.write(encodeText(JSON.stringify({ type: "hello", protocol: 1, show })));
        s.pause();
        resolve(r);
      };
      s.on("data", onData);
      s.on("connect", () => s.write(upgradeRequest(`127.0.0.1:${port}`, "/ws", key)));
      s.on("error", (err) => fail(err.message));
      s.on("close", () => {
        r.ended = true;
        r.markClosed();
        fail("closed before the upgrade answer"); // no-op once resolved
      });
    });
  }

  /** Reads again (discarding) until the server ends the connection; the close code it sent last. */
  async resume(): Promise<number> {
    this.sock.on("data", (b: Buffer) => {
      this.tail = Buffer.concat([this.tail, b]).subarray(-256);
    });
    this.sock.resume();
    await this.closed;
    return closeCodeAtEnd(this.tail);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** The code of an unmasked server close frame that ends `tail` (1006 if it does not end in one). */
export function closeCodeAtEnd(tail: Buffer): number {
  for (let len = 2; len <= 125 && len + 2 <= tail.length; len++) {
    const at = tail.length - len - 2;
    if (tail[at] === 0x88 && tail[at + 1] === len) return tail.readUInt16BE(at + 2);
  }
  return 1006;
}
