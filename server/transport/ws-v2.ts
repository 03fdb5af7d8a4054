/**
 * Protocol v2 input (binary frames, subprotocol `buzzcast.v2`; docs/protocol-v2.md): decodes each
 * client frame and hands it to the same hello, buzz and close paths as v1, so every rule past the
 * decoding (hello once and first, show lookup, viewer token, buzz intake and policy, acks, close
 * codes) is one code path for both protocols.
 *
 * The canonical buzz is decoded straight from its bytes (fast-buzz-v2.ts, nothing allocated), its
 * act index mapped to the show's current act table (an index past it is rejected as
 * `unknown_act`, like an unknown act id in v1: a buzz may race a show edit). Any other frame goes
 * through shared/v2's decoder. Bad input, a text frame included, gets an error frame and close
 * `bad_frame` (4000), counted by reason in buzzcast_v2_decode_errors_total; it never touches a count.
 */
import type { CloseName } from "../../shared/codes.ts";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, type Hello } from "../../shared/protocol.ts";
import { V2DecodeError, decodeClientFrame, type V2ClientFrame } from "../../shared/v2/index.ts";
import type { Hub } from "../broadcast/hub.ts";
import type { ShowCounts } from "../counting/show-counts.ts";
import type { TallySlot } from "../counting/tally.ts";
import type { Conn } from "./connection.ts";
import { fastBuzzV2 } from "./fast-buzz-v2.ts";
import type { WebSocket } from "./uws.ts";

/** What the endpoint does once a frame is decoded, whatever its protocol (WsEndpoint). */
export interface FrameSink {
  hello(ws: WebSocket<Conn>, c: Conn, msg: Hello): void;
  buzz(ws: WebSocket<Conn>, c: Conn, counts: ShowCounts, slot: TallySlot | null, seq: number): void;
  close(ws: WebSocket<Conn>, c: Conn, name: CloseName, message: string): void;
}

export class V2Input {
  constructor(
    private readonly sink: FrameSink,
    private readonly hub: Hub,
  ) {}

  message(ws: WebSocket<Conn>, c: Conn, data: ArrayBuffer, isBinary: boolean): void {
    if (!isBinary) {
      this.hub.wire.v2Refused.text_frame++;
      return this.sink.close(ws, c, "bad_frame", "text frames are not part of protocol v2");
    }
    if (data.byteLength > MAX_FRAME_BYTES) return this.sink.close(ws, c, "too_large", `frames are limited to ${MAX_FRAME_BYTES} bytes`);
    const bytes = new Uint8Array(data);
    const fast = fastBuzzV2(bytes);
    if (fast !== null) return this.buzz(ws, c, fast.act, fast.seq);
    let f: V2ClientFrame;
    try {
      f = decodeClientFrame(bytes);
    } catch (err) {
      if (!(err instanceof V2DecodeError)) throw err;
      this.hub.wire.v2Refused[err.reason]++;
      return this.sink.close(ws, c, "bad_frame", err.message);
    }
    switch (f.type) {
      case "buzz":
        return this.buzz(ws, c, f.act, f.seq);
      case "hello":
        return this.sink.hello(ws, c, toV1Hello(f));
      case "keyframe_request":
        if (c.counts === null) return this.sink.close(ws, c, "hello_required", "send hello first");
        return this.hub.requestKeyframe(c.counts.show);
    }
  }

  private buzz(ws: WebSocket<Conn>, c: Conn, index: number, seq: number): void {
    const counts = c.counts;
    if (counts === null) return this.sink.close(ws, c, "hello_required", "send hello before buzzing");
    this.sink.buzz(ws, c, counts, counts.table.at(index), seq);
  }
}

/** The v1 hello a v2 hello stands for: one hello path serves both protocols. */
function toV1Hello(f: Extract<V2ClientFrame, { type: "hello" }>): Hello {
  const msg: Hello = { type: "hello", protocol: PROTOCOL_VERSION, show: f.show };
  if (f.viewer !== undefined) msg.viewer = f.viewer;
  if (f.token !== undefined) (msg as Hello & { token?: string }).token = f.token;
  return msg;
}
