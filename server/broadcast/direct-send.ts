/**
 * Frames to one connection (welcome, ack, error then close), outside pub/sub.
 *
 * Guarantees:
 *  - Direct sends are corked (one syscall per connection per call, also from timers and promise
 *    callbacks); nested in an already corked socket (a uWS callback) they simply send. Published
 *    frames are corked per subscriber by uWS itself (this App build has no App-level cork).
 *  - A corked send allocates no closure (argument slots instead).
 *  - A send uWS drops counts in `sendDropped`, one it buffers under backpressure in `sendBackpressured`.
 */
import type { WebSocket } from "uWebSockets.js";
import { CLOSE, type CloseName } from "../../shared/codes.ts";
import type { Metrics } from "../ops/metrics.ts";

// The socket's user data is transport's business; the hub only sends.
export type Ws = WebSocket<unknown>;

export class DirectSend {
  // Argument slots for `corked`, so a corked send allocates no closure.
  private corkWs: Ws | null = null;
  private corkFrame: string | Uint8Array = "";
  private readonly corkedSend = (): void => this.send(this.corkWs!, this.corkFrame);

  constructor(private readonly metrics: Metrics) {}

  /** Sends one frame (binary when a Uint8Array) in one corked write. */
  corked(ws: Ws, frame: string | Uint8Array): void {
    this.corkWs = ws;
    this.corkFrame = frame;
    ws.cork(this.corkedSend);
    this.corkWs = null;
    this.corkFrame = "";
  }

  /** The error frame, then close with the table's code, in one corked write. */
  closeWith(ws: Ws, name: CloseName, frame: string | Uint8Array): void {
    ws.cork(() => {
      ws.send(frame, typeof frame !== "string", false);
      ws.end(CLOSE[name].code, name);
    });
  }

  private send(ws: Ws, frame: string | Uint8Array): void {
    const r = ws.send(frame, typeof frame !== "string", false);
    if (r === 2) this.metrics.sendDropped++;
    else if (r === 0) this.metrics.sendBackpressured++;
  }
}
