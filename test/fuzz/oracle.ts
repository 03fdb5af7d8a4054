/**
 * The fuzzer's oracle: what the server must do with each client message, from the protocol's
 * sources of truth (shared/protocol.ts's schemas for v1, shared/v2's reference decoder for v2) and
 * the limits in docs/protocol.md: frame size first (over 16 KB uWS drops the connection, 1006),
 * then UTF-8 of text frames (uWS drops, 1006), then our 1 KB limit, then decoding, then the
 * conversation (hello first and once, known show). The server's fast paths (fast-buzz*.ts) decode
 * canonical buzzes without the schema: a disagreement with this oracle is a bug in one of them.
 */
import { CLOSE, type CloseName } from "../../shared/codes.ts";
import { ClientMessage, MAX_FRAME_BYTES, PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { V2DecodeError, decodeClientFrame } from "../../shared/v2/index.ts";
import { viewerIdProblem } from "../../shared/viewer-id.ts";

/** uWS's own limit (server/node/node.ts hardPayloadLimit). */
export const HARD_PAYLOAD_LIMIT = 16 * 1024;

export type Verdict =
  | { kind: "ok" }
  /** The server closes: `name` is the metric label; code 1006 for uWS's drops (no error frame). */
  | { kind: "close"; name: string; code: number; v2reason?: string };

export interface ConnState {
  protocol: 1 | 2;
  helloed: boolean;
}

const strict = new TextDecoder("utf-8", { fatal: true });
/** The server decodes with a non-fatal TextDecoder, which (like this one) strips a leading BOM. */
const lenient = new TextDecoder();

const close = (name: CloseName): Extract<Verdict, { kind: "close" }> => ({ kind: "close", name, code: CLOSE[name].code });
const drop = (name: "too_large_hard" | "invalid_utf8_hard"): Extract<Verdict, { kind: "close" }> => ({ kind: "close", name, code: 1006 });

export class Oracle {
  constructor(
    private readonly knownShows: ReadonlySet<string>,
    /** A show the fuzzer must never join (the honest audience's). */
    private readonly forbiddenShow: string,
  ) {}

  /** The verdict on one complete message (`binary` per its opcode); updates `st` when it is accepted. */
  judge(st: ConnState, binary: boolean, payload: Uint8Array): Verdict {
    if (payload.length > HARD_PAYLOAD_LIMIT) return drop("too_large_hard");
    if (!binary && !validUtf8(payload)) return drop("invalid_utf8_hard");
    return st.protocol === 1 ? this.v1(st, binary, payload) : this.v2(st, binary, payload);
  }

  private v1(st: ConnState, binary: boolean, payload: Uint8Array): Verdict {
    if (binary) return close("binary_unsupported");
    if (payload.length > MAX_FRAME_BYTES) return close("too_large");
    let raw: unknown;
    try {
      raw = JSON.parse(lenient.decode(payload));
    } catch {
      return close("bad_frame");
    }
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) return close(parsed.error.issues[0]?.path[0] === "viewer" ? "bad_viewer" : "bad_frame");
    const msg = parsed.data;
    if (msg.type === "buzz") return st.helloed ? { kind: "ok" } : close("hello_required");
    if (st.helloed) return close("hello_required");
    if (msg.protocol !== PROTOCOL_VERSION) return close("unsupported_protocol");
    return this.join(st, msg.show);
  }

  private v2(st: ConnState, binary: boolean, payload: Uint8Array): Verdict {
    if (!binary) return { ...close("bad_frame"), v2reason: "text_frame" };
    if (payload.length > MAX_FRAME_BYTES) return close("too_large");
    let f;
    try {
      f = decodeClientFrame(payload);
    } catch (err) {
      if (!(err instanceof V2DecodeError)) throw err;
      return { ...close("bad_frame"), v2reason: err.reason };
    }
    if (f.type !== "hello") return st.helloed ? { kind: "ok" } : close("hello_required");
    if (st.helloed) return close("hello_required");
    if (f.viewer !== undefined && viewerIdProblem(f.viewer) !== null) return close("bad_viewer");
    return this.join(st, f.show);
  }

  private join(st: ConnState, show: string): Verdict {
    if (show === this.forbiddenShow) throw new Error(`a generated hello names the honest audience's show ${show}`);
    if (!this.knownShows.has(show)) return close("unknown_show");
    st.helloed = true;
    return { kind: "ok" };
  }
}

export function validUtf8(b: Uint8Array): boolean {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
}
