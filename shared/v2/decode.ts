/**
 * Decoders for every v2 frame, both directions. Guarantee: for ANY input bytes they return a frame
 * or throw V2DecodeError (code `bad_frame`), never another exception, and run in time linear in
 * the input (every count is checked against the bytes left before looping).
 * A frame decodes only if it is complete and canonical: every fixed field present, varints minimal,
 * and whatever follows the fixed fields a well-formed extension section (ext.ts).
 */
import {
  ERROR_EXT,
  FRAME,
  HELLO_EXT,
  HELLO_HAS_VIEWER,
  ID_PATTERN,
  POLICY_CODES,
  STAGE_HAS_ACT,
  STAGE_OPEN,
  TOTALS_EXT,
  WELCOME_EXT,
  V2_REJECT_ORDER,
} from "./constants.ts";
import { REJECTED_OTHER } from "../codes.ts";
import { V2DecodeError } from "./errors.ts";
import { readExtensions } from "./ext.ts";
import type { V2Ack, V2ClientFrame, V2ServerFrame, V2ShowInfo, V2Stage, V2TotalsExt } from "./frames.ts";
import { Reader } from "./io.ts";

const TOTALS_EXT_NAMES = Object.keys(TOTALS_EXT) as Array<keyof V2TotalsExt>;
const NO_EXT: readonly string[] = [];
const HELLO_EXT_NAMES = Object.keys(HELLO_EXT) as Array<keyof typeof HELLO_EXT>;
const ERROR_EXT_NAMES = Object.keys(ERROR_EXT) as Array<keyof typeof ERROR_EXT>;
const WELCOME_EXT_NAMES = Object.keys(WELCOME_EXT) as Array<keyof typeof WELCOME_EXT>;
const HELLO_TEXT: ReadonlySet<string> = new Set(["token"]);

function id(r: Reader, what: string): string {
  const at = r.pos;
  const s = r.str();
  if (!ID_PATTERN.test(s)) r.fail("bad_value", `${what} is not a valid id`, at);
  return s;
}
function text(r: Reader, what: string): string {
  const at = r.pos;
  const s = r.str();
  if (s.length === 0) r.fail("bad_value", `${what} is empty`, at);
  return s;
}

function showInfo(r: Reader): V2ShowInfo {
  const showId = id(r, "show id");
  const title = text(r, "title");
  const n = r.count(4); // an act takes at least 4 bytes: two lengths, two non-empty strings
  const acts = new Array<V2ShowInfo["acts"][number]>(n);
  for (let i = 0; i < n; i++) acts[i] = { id: id(r, "act id"), name: text(r, "act name") };
  return { id: showId, title, acts };
}

function actIndex(r: Reader, actCount: number | undefined, what: string): number {
  const at = r.pos;
  const i = r.varint();
  if (actCount !== undefined && i >= actCount) r.fail("index_out_of_range", `${what} ${i} >= act table size ${actCount}`, at);
  return i;
}

function stage(r: Reader, actCount: number | undefined): V2Stage {
  const at = r.pos;
  const flags = r.byte();
  if (flags & ~(STAGE_OPEN | STAGE_HAS_ACT)) r.fail("bad_value", `reserved stage flag bits set: ${flags}`, at);
  const act = flags & STAGE_HAS_ACT ? actIndex(r, actCount, "stage act") : null;
  return { act, open: (flags & STAGE_OPEN) !== 0 };
}

function noExtensions(r: Reader): void {
  readExtensions(r, NO_EXT, {});
}

function ack(r: Reader): V2Ack {
  const seq = r.varint();
  const counted = r.varint();
  const n = r.count(1);
  const rejected: V2Ack["rejected"] = {};
  let other = 0; // counts of reasons this decoder does not know (a newer server's), summed
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const v = r.varint();
    const reason = V2_REJECT_ORDER[i];
    if (reason !== undefined) {
      if (v > 0) rejected[reason] = v;
    } else if (v > 0) {
      other += v;
      if (!Number.isSafeInteger(other)) r.fail("bad_value", "sum of unknown reason counts exceeds 2^53", at);
    }
  }
  const lastCode = r.varint();
  // An unknown code is a reason added after this decoder: not counted, reason unnamed; never an error.
  const last = lastCode === 0 ? "counted" : (V2_REJECT_ORDER[lastCode - 1] ?? REJECTED_OTHER);
  const a: V2Ack = { type: "ack", seq, counted, rejected, last };
  if (other > 0) a.rejectedOther = other;
  return a;
}

function server(r: Reader, actCount: number | undefined): V2ServerFrame {
  const type = r.byte();
  switch (type) {
    case FRAME.welcome: {
      const show = showInfo(r);
      const epoch = r.str();
      const epochId = r.varint();
      const seq = r.varint();
      const tickAt = r.pos;
      const tickMs = r.varint();
      if (tickMs === 0) r.fail("bad_value", "tickMs is 0", tickAt);
      const policyAt = r.pos;
      const policy = POLICY_CODES[r.byte()];
      if (policy === undefined && r.buf[policyAt] !== 0) r.fail("bad_value", `unknown policy ${r.buf[policyAt]}`, policyAt);
      const st = stage(r, show.acts.length);
      if (show.acts.length > r.remaining) r.fail("truncated", "welcome totals exceed the frame");
      const totals = new Array<number>(show.acts.length);
      for (let i = 0; i < totals.length; i++) totals[i] = r.varint();
      const ext: { watching?: number } = {};
      readExtensions(r, WELCOME_EXT_NAMES, ext);
      const w: V2ServerFrame = { type: "welcome", show, epoch, epochId, seq, tickMs, stage: st, totals, ...ext };
      if (policy !== undefined) w.policy = policy;
      return w;
    }
    case FRAME.keyframe:
    case FRAME.delta: {
      const epochId = r.varint();
      const seq = r.varint();
      const ts = r.varint();
      const ext: V2TotalsExt = {};
      if (type === FRAME.keyframe) {
        const at = r.pos;
        const n = r.count(1);
        if (actCount !== undefined && n !== actCount) r.fail("index_out_of_range", `keyframe has ${n} totals for ${actCount} acts`, at);
        const totals = new Array<number>(n);
        for (let i = 0; i < n; i++) totals[i] = r.varint();
        readExtensions(r, TOTALS_EXT_NAMES, ext);
        return { type: "keyframe", epochId, seq, ts, totals, ...ext };
      }
      const n = r.count(2);
      const changes = new Array<[number, number]>(n);
      let last = -1;
      for (let i = 0; i < n; i++) {
        const at = r.pos;
        const index = actIndex(r, actCount, "delta act");
        if (index <= last) r.fail("bad_order", `delta index ${index} after ${last}`, at);
        last = index;
        changes[i] = [index, r.varint()];
      }
      readExtensions(r, TOTALS_EXT_NAMES, ext);
      return { type: "delta", epochId, seq, ts, changes, ...ext };
    }
    case FRAME.stage: {
      const st = stage(r, actCount);
      noExtensions(r);
      return { type: "stage", ...st };
    }
    case FRAME.show: {
      const show = showInfo(r);
      const epoch = r.str();
      const epochId = r.varint();
      noExtensions(r);
      return { type: "show", show, epoch, epochId };
    }
    case FRAME.ack: {
      const a = ack(r);
      noExtensions(r);
      return a;
    }
    case FRAME.error: {
      const close = r.varint();
      const message = r.str();
      const ext: { retryAfterMs?: number } = {};
      readExtensions(r, ERROR_EXT_NAMES, ext);
      return ext.retryAfterMs === undefined
        ? { type: "error", close, message }
        : { type: "error", close, message, retryAfterMs: ext.retryAfterMs };
    }
    default:
      return r.fail("unknown_type", `0x${type.toString(16).padStart(2, "0")} is not a server frame type`, 0);
  }
}

function client(r: Reader): V2ClientFrame {
  const type = r.byte();
  switch (type) {
    case FRAME.hello: {
      const at = r.pos;
      const flags = r.byte();
      if (flags & ~HELLO_HAS_VIEWER) r.fail("bad_value", `reserved hello flag bits set: ${flags}`, at);
      const show = id(r, "show id");
      const hello: V2ClientFrame = { type: "hello", show };
      if (flags & HELLO_HAS_VIEWER) {
        const vAt = r.pos;
        const viewer = r.str();
        if (viewer.length < 1 || viewer.length > 128) r.fail("bad_value", "viewer must be 1-128 characters", vAt);
        hello.viewer = viewer;
      }
      const ext: { token?: string } = {};
      readExtensions(r, HELLO_EXT_NAMES, ext, HELLO_TEXT);
      if (ext.token !== undefined) hello.token = ext.token;
      return hello;
    }
    case FRAME.buzz: {
      const act = r.varint();
      const seq = r.varint();
      noExtensions(r);
      return { type: "buzz", act, seq };
    }
    case FRAME.keyframe_request:
      noExtensions(r);
      return { type: "keyframe_request" };
    default:
      return r.fail("unknown_type", `0x${type.toString(16).padStart(2, "0")} is not a client frame type`, 0);
  }
}

/** Runs a decoder; anything but V2DecodeError escaping it would be a bug, and is reported as one. */
function guarded<T>(bytes: Uint8Array, run: (r: Reader) => T): T {
  if (!(bytes instanceof Uint8Array)) throw new V2DecodeError("bad_value", "input is not a Uint8Array", 0);
  if (bytes.length === 0) throw new V2DecodeError("empty", "zero-length frame", 0);
  const r = new Reader(bytes);
  try {
    return run(r);
  } catch (e) {
    if (e instanceof V2DecodeError) throw e;
    throw new V2DecodeError("bad_value", `internal decoder fault: ${String(e)}`, r.pos);
  }
}

/**
 * Decodes a frame the server sent. `actCount` is the size of the act table the client holds (from
 * the last welcome/show frame); when given, act indices and keyframe lengths are checked against it.
 */
export function decodeServerFrame(bytes: Uint8Array, actCount?: number): V2ServerFrame {
  return guarded(bytes, (r) => server(r, actCount));
}

/**
 * Decodes a frame a client sent. A buzz's act index is NOT range-checked here: a buzz may race a
 * show edit that shrank the table, so the server answers an unknown index with the `unknown_act`
 * reject reason (as v1 does for an unknown act id), not a close.
 */
export function decodeClientFrame(bytes: Uint8Array): V2ClientFrame {
  return guarded(bytes, client);
}
