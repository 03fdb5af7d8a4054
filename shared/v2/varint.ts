/**
 * Unsigned LEB128 varints limited to 53 bits (JavaScript's safe integers): 7 value bits per byte,
 * least significant group first, high bit set on every byte but the last. At most 8 bytes.
 * Decoding is strict, so every value has exactly one encoding: more than 8 bytes, a redundant
 * final 0x00 group ("0x80 0x00" for 0), or a value above 2^53 - 1 are errors.
 */
import { MAX_VARINT, MAX_VARINT_BYTES } from "./constants.ts";
import { V2DecodeError, V2EncodeError } from "./errors.ts";

/** True for integers the wire can carry: 0 <= v <= 2^53 - 1. */
export function isVarintValue(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

export function assertVarint(v: number, what: string): void {
  if (!isVarintValue(v)) throw new V2EncodeError(`${what} must be an integer in [0, 2^53-1], got ${v}`);
}

/** Bytes the varint encoding of `v` takes (v must satisfy isVarintValue). */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  let n = 4;
  for (let rest = Math.floor(v / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) n++;
  return n;
}

/** Writes `v` at `pos`; returns the position after it. The caller sized `buf` with varintSize. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Reads a varint at `pos`. Returns the value; the caller advances by varintSize(value), which is
 * exact because non-minimal encodings are refused.
 */
export function readVarint(buf: Uint8Array, pos: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = pos + i;
    if (at >= buf.length) throw new V2DecodeError("truncated", "varint runs past the end", at);
    const b = buf[at]!;
    const bits = b & 0x7f;
    if (i === MAX_VARINT_BYTES - 1) {
      if (b & 0x80) throw new V2DecodeError("overlong_varint", "varint longer than 8 bytes", at);
      if (bits > 0x0f) throw new V2DecodeError("unsafe_integer", "varint above 2^53-1", at);
    }
    value += bits * scale;
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new V2DecodeError("overlong_varint", "varint not minimally encoded", at);
      if (value > MAX_VARINT) throw new V2DecodeError("unsafe_integer", "varint above 2^53-1", at);
      return value;
    }
    scale *= 0x80;
  }
  /* c8 ignore next: the loop returns or throws on its 8th byte */
  throw new V2DecodeError("overlong_varint", "varint longer than 8 bytes", pos);
}

/** UTF-8 byte length of `s` as TextEncoder encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
