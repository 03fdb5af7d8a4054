/**
 * A wire turns the client's intents (hello, buzz) into frames and the server's frames into protocol
 * v1 messages, so BuzzClient has one state machine and one set of events whatever the protocol.
 * One wire per connection: its state (v2's act table and totals) never outlives the socket.
 *  - V1Wire (here): JSON text frames, checked by the configured FrameCheck.
 *  - V2Wire (wire-v2.ts): binary frames through the shared codec, translated to the v1 shapes.
 */
import { PROTOCOL_VERSION } from "../../shared/codes.ts";
import type { Buzz, Hello, ServerMessage } from "./protocol-types.ts";
import type { FrameCheck } from "./frame-check.ts";

export type ProtocolName = "v1" | "v2";

/** What a received frame means: v1-shaped messages to apply in order, and a frame to send back. */
export interface Decoded {
  messages: ServerMessage[];
  /** v2: a keyframe_request after a gap in the totals. */
  reply: Uint8Array | null;
}

export interface HelloParams {
  show: string;
  viewer: string | undefined;
  token: string | undefined;
}

export interface Wire {
  readonly protocol: ProtocolName;
  hello(p: HelloParams): string | Uint8Array;
  /** The buzz frame. The caller has checked that `act` is in the show this connection announced. */
  buzz(act: string, seq: number): string | Uint8Array;
  /** Decodes one received frame, or returns why it is not a valid frame of this protocol. */
  decode(data: unknown): Decoded | string;
}

export class V1Wire implements Wire {
  readonly protocol = "v1";
  constructor(private readonly check: FrameCheck) {}

  hello(p: HelloParams): string {
    const hello: Hello = { type: "hello", protocol: PROTOCOL_VERSION, show: p.show };
    if (p.viewer !== undefined) hello.viewer = p.viewer;
    if (p.token !== undefined) hello.token = p.token;
    return JSON.stringify(hello);
  }

  buzz(act: string, seq: number): string {
    const frame: Buzz = { type: "buzz", act, seq };
    return JSON.stringify(frame);
  }

  decode(data: unknown): Decoded | string {
    if (typeof data !== "string") return "binary frame on a protocol v1 connection";
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return "server frame is not JSON text";
    }
    const msg = this.check(parsed);
    return typeof msg === "string" ? msg : { messages: [msg], reply: null };
  }
}
