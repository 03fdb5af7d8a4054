/**
 * Protocol v2 (docs/protocol-v2.md) behind the v1-shaped messages BuzzClient applies.
 *
 * Guarantees:
 *  - Every frame is decoded by the shared codec (shared/v2) against the act table of the last
 *    welcome/show frame of this connection; anything it refuses is reported, never applied.
 *  - Totals go through the shared TotalsTracker: a delta applies only onto the frame before it;
 *    on a gap exactly one keyframe_request is sent and deltas are dropped until a keyframe. Only
 *    applied frames become `totals` messages, carrying the whole table (v1's shape), so BuzzClient's
 *    TotalsView keeps its never-backwards rule across frames, epochs and reconnects.
 *  - Act indices are translated both ways with the same table: a buzz names the index of its act
 *    in the table the server last announced on this connection.
 */
import { closeName } from "../../shared/codes.ts";
import type { Ack, ServerMessage, ShowInfo, Stage } from "./protocol-types.ts";
import {
  TotalsTracker,
  V2DecodeError,
  decodeServerFrame,
  encodeClientFrame,
  type V2Hello,
  type V2ServerFrame,
  type V2Stage,
} from "../../shared/v2/index.ts";
import { BuzzClientError } from "./errors.ts";
import type { Decoded, HelloParams, Wire } from "./wire.ts";

const KEYFRAME_REQUEST = encodeClientFrame({ type: "keyframe_request" });

export class V2Wire implements Wire {
  readonly protocol = "v2";
  readonly #tracker = new TotalsTracker();
  #show: ShowInfo | null = null;
  readonly #index = new Map<string, number>();

  hello(p: HelloParams): Uint8Array {
    const hello: V2Hello = { type: "hello", show: p.show };
    if (p.viewer !== undefined) hello.viewer = p.viewer;
    if (p.token !== undefined) hello.token = p.token;
    return encodeClientFrame(hello);
  }

  buzz(act: string, seq: number): Uint8Array {
    const i = this.#index.get(act);
    if (i === undefined) throw new BuzzClientError("unknown_act", `act ${act} is not in this connection's act table`);
    return encodeClientFrame({ type: "buzz", act: i, seq });
  }

  decode(data: unknown): Decoded | string {
    let bytes: Uint8Array;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else
      return typeof data === "string" ? "text frame on a protocol v2 connection" : "unsupported frame data (set binaryType to arraybuffer)";
    let f: V2ServerFrame;
    try {
      f = decodeServerFrame(bytes, this.#show === null ? undefined : this.#show.acts.length);
    } catch (err) {
      if (err instanceof V2DecodeError) return err.message;
      throw err;
    }
    return this.#apply(f);
  }

  #apply(f: V2ServerFrame): Decoded {
    switch (f.type) {
      case "welcome":
        this.#setTable(f.show);
        this.#tracker.welcome(f);
        return one({
          type: "welcome",
          protocol: 1,
          show: f.show,
          stage: this.#stage(f.stage),
          tickMs: f.tickMs,
          epoch: f.epoch,
          seq: f.seq,
          totals: this.#tracker.snapshot(),
          ...(f.policy !== undefined ? { policy: f.policy } : {}),
          ...(f.watching !== undefined ? { watching: f.watching } : {}),
        });
      case "keyframe":
      case "delta": {
        const r = this.#tracker.totals(f);
        if (r === "gap") return { messages: [], reply: KEYFRAME_REQUEST };
        const epoch = this.#tracker.epoch;
        if (r !== "applied" || epoch === null || this.#show === null) return NOTHING;
        const watching = f.watching !== undefined ? { watching: f.watching } : {};
        return one({
          type: "totals",
          show: this.#show.id,
          epoch,
          seq: this.#tracker.seq,
          ts: f.ts,
          totals: this.#tracker.snapshot(),
          ...watching,
        });
      }
      case "stage":
        return one({ type: "stage", ...this.#stage(f) });
      case "show":
        this.#setTable(f.show);
        this.#tracker.show(f);
        return one({ type: "show", show: f.show, epoch: f.epoch });
      case "ack": {
        const ack: Ack = { type: "ack", seq: f.seq, counted: f.counted, rejected: f.rejected, last: f.last };
        if (f.rejectedOther !== undefined) ack.rejectedOther = f.rejectedOther;
        return one(ack);
      }
      case "error":
        return one({
          type: "error",
          code: closeName(f.close) ?? String(f.close),
          message: f.message,
          ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}),
        });
    }
  }

  #setTable(show: ShowInfo): void {
    this.#show = { id: show.id, title: show.title, acts: show.acts.map((a) => ({ ...a })) };
    this.#index.clear();
    show.acts.forEach((a, i) => this.#index.set(a.id, i));
  }

  /** The decoder has checked the index against this table. */
  #stage(s: V2Stage): Stage {
    return { act: s.act === null ? null : this.#show!.acts[s.act]!.id, open: s.open };
  }
}

const NOTHING: Decoded = { messages: [], reply: null };
function one(msg: ServerMessage): Decoded {
  return { messages: [msg], reply: null };
}
