/**
 * Encoders for every v2 frame, both directions. Each returns one freshly allocated, exactly sized
 * Uint8Array. Values the wire cannot carry throw V2EncodeError before any byte is written.
 * Per-tick totals for a whole audience go through TotalsEncoder (totals-encoder.ts), which keeps
 * the previous totals; encodeServerFrame encodes a given keyframe/delta as is.
 */
import {
  ERROR_EXT,
  WELCOME_EXT,
  FRAME,
  HELLO_EXT,
  HELLO_HAS_VIEWER,
  ID_PATTERN,
  POLICY_CODES,
  STAGE_HAS_ACT,
  STAGE_OPEN,
  TOTALS_EXT,
  V2_REJECT_ORDER,
} from "./constants.ts";
import { viewerIdProblem } from "../viewer-id.ts";
import { V2EncodeError } from "./errors.ts";
import { writeExtensions } from "./ext.ts";
import type { V2Ack, V2ClientFrame, V2Delta, V2Keyframe, V2ServerFrame, V2ShowInfo, V2Stage, V2TotalsExt } from "./frames.ts";
import { encodeWith, type Out } from "./io.ts";
import { assertVarint, varintSize, writeVarint } from "./varint.ts";

const TOTALS_EXT_NAMES = Object.keys(TOTALS_EXT) as Array<keyof V2TotalsExt>;
const HELLO_EXT_NAMES = Object.keys(HELLO_EXT) as Array<keyof typeof HELLO_EXT>;
const ERROR_EXT_NAMES = Object.keys(ERROR_EXT) as Array<keyof typeof ERROR_EXT>;
const WELCOME_EXT_NAMES = Object.keys(WELCOME_EXT) as Array<keyof typeof WELCOME_EXT>;

function id(out: Out, s: string, what: string): void {
  if (typeof s !== "string" || !ID_PATTERN.test(s)) throw new V2EncodeError(`${what} must match ${ID_PATTERN}: ${String(s)}`);
  out.str(s);
}
function text(out: Out, s: string, what: string): void {
  if (typeof s !== "string" || s.length === 0) throw new V2EncodeError(`${what} must be a non-empty string`);
  out.str(s);
}

function showInfo(out: Out, show: V2ShowInfo): void {
  id(out, show.id, "show id");
  text(out, show.title, "title");
  out.varint(show.acts.length, "act count");
  for (const a of show.acts) {
    id(out, a.id, "act id");
    text(out, a.name, "act name");
  }
}

function stage(out: Out, s: V2Stage, actCount: number | undefined): void {
  if (s.act !== null && actCount !== undefined && !(s.act < actCount)) throw new V2EncodeError(`stage act ${s.act} is not in the table`);
  out.byte((s.open ? STAGE_OPEN : 0) | (s.act !== null ? STAGE_HAS_ACT : 0));
  if (s.act !== null) out.varint(s.act, "stage act");
}

function totalsHead(out: Out, f: V2Keyframe | V2Delta): void {
  out.byte(FRAME[f.type]);
  out.varint(f.epochId, "epochId");
  out.varint(f.seq, "seq");
  out.varint(f.ts, "ts");
}

function keyframe(f: V2Keyframe, out: Out): void {
  totalsHead(out, f);
  out.varint(f.totals.length, "act count");
  for (const v of f.totals) out.varint(v, "total");
  writeExtensions(out, TOTALS_EXT_NAMES, f);
}

function delta(f: V2Delta, out: Out): void {
  totalsHead(out, f);
  out.varint(f.changes.length, "change count");
  let last = -1;
  for (const [index, total] of f.changes) {
    if (!(index > last)) throw new V2EncodeError(`delta indices must strictly increase (${index} after ${last})`);
    last = index;
    out.varint(index, "act index");
    out.varint(total, "total");
  }
  writeExtensions(out, TOTALS_EXT_NAMES, f);
}

/**
 * The ack, sized and written directly: the server sends one per buzzing connection per tick, so
 * this skips the generic two-pass encoder (same bytes; vectors.json and codec.test.ts check it).
 */
export function encodeAck(f: Omit<V2Ack, "type">): Uint8Array {
  const rejected = f.rejected;
  for (const reason in rejected) {
    if (!(V2_REJECT_ORDER as readonly string[]).includes(reason)) throw new V2EncodeError(`unknown reject reason ${reason}`);
  }
  if (f.rejectedOther !== undefined) throw new V2EncodeError("rejectedOther is read from unknown reasons, never sent");
  const last = f.last === "counted" ? 0 : (V2_REJECT_ORDER as readonly string[]).indexOf(f.last) + 1;
  if (f.last !== "counted" && last === 0) throw new V2EncodeError(`unknown last outcome ${String(f.last)}`);
  let n = V2_REJECT_ORDER.length; // trailing zero counts are omitted
  while (n > 0 && !rejected[V2_REJECT_ORDER[n - 1]!]) n--;
  assertVarint(f.seq, "seq");
  assertVarint(f.counted, "counted");
  let size = 1 + varintSize(f.seq) + varintSize(f.counted) + varintSize(n) + varintSize(last);
  for (let i = 0; i < n; i++) {
    const v = rejected[V2_REJECT_ORDER[i]!] ?? 0;
    assertVarint(v, "rejected count");
    size += varintSize(v);
  }
  const buf = new Uint8Array(size);
  buf[0] = FRAME.ack;
  let pos = writeVarint(buf, 1, f.seq);
  pos = writeVarint(buf, pos, f.counted);
  pos = writeVarint(buf, pos, n);
  for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, rejected[V2_REJECT_ORDER[i]!] ?? 0);
  writeVarint(buf, pos, last);
  return buf;
}

function server(f: V2ServerFrame, out: Out): void {
  switch (f.type) {
    case "welcome": {
      out.byte(FRAME.welcome);
      showInfo(out, f.show);
      out.str(f.epoch);
      out.varint(f.epochId, "epochId");
      out.varint(f.seq, "seq");
      if (!(f.tickMs >= 1)) throw new V2EncodeError(`tickMs must be >= 1, got ${f.tickMs}`);
      out.varint(f.tickMs, "tickMs");
      out.byte(POLICY_CODES.indexOf(f.policy));
      stage(out, f.stage, f.show.acts.length);
      if (f.totals.length !== f.show.acts.length)
        throw new V2EncodeError(`welcome has ${f.totals.length} totals for ${f.show.acts.length} acts`);
      for (const v of f.totals) out.varint(v, "total");
      writeExtensions(out, WELCOME_EXT_NAMES, f);
      return;
    }
    case "keyframe":
      return keyframe(f, out);
    case "delta":
      return delta(f, out);
    case "stage":
      out.byte(FRAME.stage);
      return stage(out, f, undefined);
    case "show":
      out.byte(FRAME.show);
      showInfo(out, f.show);
      out.str(f.epoch);
      out.varint(f.epochId, "epochId");
      return;
    case "ack":
      throw new V2EncodeError("internal: acks are encoded by encodeAck");
    case "error":
      out.byte(FRAME.error);
      out.varint(f.close, "close code");
      out.str(f.message);
      writeExtensions(out, ERROR_EXT_NAMES, f);
      return;
    default:
      throw new V2EncodeError(`unknown server frame type ${String((f as { type: unknown }).type)}`);
  }
}

function client(f: V2ClientFrame, out: Out): void {
  switch (f.type) {
    case "hello":
      out.byte(FRAME.hello);
      out.byte(f.viewer !== undefined ? HELLO_HAS_VIEWER : 0);
      id(out, f.show, "show id");
      if (f.viewer !== undefined) {
        const problem = viewerIdProblem(f.viewer);
        if (problem !== null) throw new V2EncodeError(problem);
        out.str(f.viewer);
      }
      writeExtensions(out, HELLO_EXT_NAMES, f);
      return;
    case "buzz":
      out.byte(FRAME.buzz);
      out.varint(f.act, "act index");
      out.varint(f.seq, "seq");
      return;
    case "keyframe_request":
      out.byte(FRAME.keyframe_request);
      return;
    default:
      throw new V2EncodeError(`unknown client frame type ${String((f as { type: unknown }).type)}`);
  }
}

export function encodeServerFrame(frame: V2ServerFrame): Uint8Array {
  if (frame.type === "ack") return encodeAck(frame);
  return encodeWith(frame, server);
}

export function encodeClientFrame(frame: V2ClientFrame): Uint8Array {
  return encodeWith(frame, client);
}
