/**
 * Typed errors of the v2 codec. A decoder never throws anything else: every malformed input maps
 * to `V2DecodeError` whose `code` is the CLOSE-table name to close with (always `bad_frame`), and
 * whose `reason` says what was wrong (for logs and metrics labels; not sent on the wire).
 */
import type { CloseName } from "../codes.ts";

/** Every reason a decoder gives (for metrics: one label value each). */
export const V2_DECODE_REASONS = [
  "empty", // zero-length frame
  "unknown_type", // first byte is not a frame type of this direction
  "truncated", // the frame ended inside a field
  "overlong_varint", // varint longer than 8 bytes, or not minimally encoded
  "unsafe_integer", // varint above 2^53 - 1
  "bad_utf8", // string bytes are not valid UTF-8
  "bad_value", // a field is out of its domain (flags, id syntax, empty name, zero tickMs, empty token ...)
  "index_out_of_range", // act index >= act table size, or a keyframe of the wrong length
  "bad_order", // delta indices or extension tags not strictly increasing
  "trailing_bytes", // bytes after the fixed fields that are not a valid extension
] as const;
export type V2DecodeReason = (typeof V2_DECODE_REASONS)[number];

export class V2DecodeError extends Error {
  override readonly name = "V2DecodeError";
  readonly code: CloseName = "bad_frame";
  constructor(
    readonly reason: V2DecodeReason,
    detail: string,
    /** Byte offset where decoding failed. */
    readonly offset: number,
  ) {
    super(`bad v2 frame (${reason}) at byte ${offset}: ${detail}`);
  }
}

/** The caller asked to encode a value the wire cannot carry (negative, fractional, unsafe integer,
 *  bad id, decreasing total ...): a bug in the caller, never caused by a peer. */
export class V2EncodeError extends Error {
  override readonly name = "V2EncodeError";
  readonly code = "v2_encode" as const;
}
