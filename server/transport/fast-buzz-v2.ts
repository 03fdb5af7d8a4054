/**
 * Decodes the canonical v2 buzz frame `02 | act: varint | seq: varint` (nothing after it) straight
 * from the bytes into one reused object: no allocation, no exception, no codec call.
 *
 * Guarantee: it returns a result only for frames that shared/v2's decodeClientFrame decodes as a
 * buzz with the same act index and seq (varints minimal, at most 8 bytes, at most 2^53 - 1).
 * Anything else (a buzz with extensions, another frame type, any malformed input) returns null
 * and takes the general decoder, which decides validity and names the error;
 * fast-buzz-v2.test.ts checks the agreement on random and mutated input.
 */
const BUZZ = 0x02;
const MAX_VARINT_BYTES = 8;

/** Reused for every call: the caller reads it before the next one. */
export interface FastBuzzV2 {
  act: number;
  seq: number;
}
const out: FastBuzzV2 = { act: 0, seq: 0 };
/** Position after the varint `varintAt` read last. */
let end = 0;

/** The canonical varint at `pos`, or -1 when there is none (the general decoder explains why). */
function varintAt(bytes: Uint8Array, pos: number): number {
  let value = 0;
  let scale = 1;
  const n = bytes.length;
  for (let i = 0; i < MAX_VARINT_BYTES && pos + i < n; i++) {
    const b = bytes[pos + i]!;
    if (b < 0x80) {
      if (b === 0 && i > 0) return -1; // not minimal
      value += b * scale;
      if (value > Number.MAX_SAFE_INTEGER) return -1;
      end = pos + i + 1;
      return value;
    }
    value += (b & 0x7f) * scale;
    scale *= 0x80;
  }
  return -1; // cut, or longer than 8 bytes
}

export function fastBuzzV2(bytes: Uint8Array): FastBuzzV2 | null {
  if (bytes.length < 3 || bytes[0] !== BUZZ) return null;
  const act = varintAt(bytes, 1);
  if (act < 0) return null;
  const seq = varintAt(bytes, end);
  if (seq < 0 || end !== bytes.length) return null;
  out.act = act;
  out.seq = seq;
  return out;
}
