/**
 * A viewer that keeps reading, kept light enough to run by the thousand in one test process: a
 * real `ws` client (it answers the server's pings, as browsers do) that says hello in protocol v1
 * or v2, counts the totals frames it receives and, while `lat` is set, records each one's delivery
 * latency (receipt - the frame's server tick `ts`). It keeps no frames: a v1 totals frame is
 * recognised by its first bytes (hub.ts serializes `type`, `show`, `epoch`, `seq`, `ts` first), a v2
 * frame is decoded (a few bytes).
 */
import WebSocket from "ws";
import { V2_SUBPROTOCOL, decodeServerFrame, encodeClientFrame } from "../../shared/v2/index.ts";

const V1_TOTALS = /^\{"type":"totals","show":"[^"]*","epoch":(?:"[^"]*"|\d+),"seq":\d+,"ts":(\d+)/;

export class Watcher {
  /** Totals frames received (v2: keyframes and deltas). */
  totals = 0;
  /** While set, the latency (ms) of every totals frame received is pushed here. */
  lat: number[] | null = null;
  closeCode: number | null = null;
  private welcomed = false;

  private constructor(
    readonly ws: WebSocket,
    readonly protocol: 1 | 2,
  ) {}

  /** Connects, says hello to `show` and resolves once the welcome arrived (rejects on error or after `timeoutMs`). */
  static open(wsUrl: string, show: string, protocol: 1 | 2, timeoutMs = 30_000): Promise<Watcher> {
    const ws = protocol === 2 ? new WebSocket(wsUrl, [V2_SUBPROTOCOL]) : new WebSocket(wsUrl);
    const w = new Watcher(ws, protocol);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watcher: no welcome within ${timeoutMs} ms`)), timeoutMs);
      ws.once("open", () =>
        ws.send(protocol === 2 ? encodeClientFrame({ type: "hello", show }) : JSON.stringify({ type: "hello", protocol: 1, show })),
      );
      ws.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on("error", () => {});
      ws.once("close", (code) => {
        w.closeCode = code;
        clearTimeout(timer);
        reject(new Error(`watcher: closed with ${code} before its welcome`)); // no-op once resolved
      });
      ws.on("message", (data: Buffer) => {
        if (!w.welcomed) {
          w.welcomed = true;
          clearTimeout(timer);
          if (w.isWelcome(data)) return resolve(w);
          ws.close();
          return reject(new Error(`watcher: a frame before the welcome: ${data.toString("latin1", 0, 80)}`));
        }
        const ts = w.totalsTs(data);
        if (ts === null) return;
        w.totals++;
        w.lat?.push(Date.now() - ts);
      });
    });
  }

  close(): void {
    this.ws.close();
  }

  private isWelcome(data: Buffer): boolean {
    return this.protocol === 1
      ? data.toString("latin1", 0, 32).startsWith('{"type":"welcome"')
      : decodeServerFrame(data).type === "welcome";
  }

  /** The tick `ts` of a totals frame; null for any other frame. */
  private totalsTs(data: Buffer): number | null {
    if (this.protocol === 1) {
      const m = V1_TOTALS.exec(data.toString("latin1", 0, 160));
      return m ? Number(m[1]) : null;
    }
    const f = decodeServerFrame(data);
    return f.type === "keyframe" || f.type === "delta" ? f.ts : null;
  }
}
