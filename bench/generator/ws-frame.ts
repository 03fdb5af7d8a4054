/**
 * RFC 6455 client-side frame encoding. Every frame a client sends is masked (section 5.3); the
 * server's frames are parsed by frame-parser.ts. Encoding never allocates beyond the returned buffer.
 */
import { randomFillSync } from "node:crypto";

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
export type Opcode = (typeof OPCODE)[keyof typeof OPCODE];

/** Header size (bytes, including the 4-byte mask key) of a masked client frame with this payload length. */
export function maskedHeaderLength(payloadLength: number): number {
  if (payloadLength < 126) return 6;
  if (payloadLength < 65536) return 8;
  return 14;
}

/** A fresh mask key. Client masks must be unpredictable (RFC 6455 section 10.3). */
export function newMaskKey(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(4));
}

/**
 * Writes one final (FIN) masked frame carrying `payload` into `out` at `offset`; returns the offset
 * after it. `out` must have room for maskedHeaderLength(payload.length) + payload.length bytes.
 */
export function writeMaskedFrame(out: Buffer, offset: number, opcode: Opcode, payload: Uint8Array, mask: Uint8Array): number {
  const n = payload.length;
  let o = offset;
  out[o++] = 0x80 | opcode;
  if (n < 126) {
    out[o++] = 0x80 | n;
  } else if (n < 65536) {
    out[o++] = 0x80 | 126;
    out.writeUInt16BE(n, o);
    o += 2;
  } else {
    out[o++] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), o);
    out.writeUInt32BE(n >>> 0, o + 4);
    o += 8;
  }
  const m0 = mask[0]!,
    m1 = mask[1]!,
    m2 = mask[2]!,
    m3 = mask[3]!;
  out[o++] = m0;
  out[o++] = m1;
  out[o++] = m2;
  out[o++] = m3;
  for (let i = 0; i < n; i++) {
    const k = i & 3;
    out[o + i] = payload[i]! ^ (k === 0 ? m0 : k === 1 ? m1 : k === 2 ? m2 : m3);
  }
  return o + n;
}

/** One masked frame with a fresh mask key. */
export function encodeMaskedFrame(opcode: Opcode, payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const out = Buffer.allocUnsafe(maskedHeaderLength(body.length) + body.length);
  writeMaskedFrame(out, 0, opcode, body, newMaskKey());
  return out;
}

/** Masked text frame. */
export function encodeText(text: string): Buffer {
  return encodeMaskedFrame(OPCODE.text, text);
}

/** Masked close frame with a status code and optional reason (<= 123 bytes). */
export function encodeClose(code: number, reason = ""): Buffer {
  const r = Buffer.from(reason, "utf8");
  if (r.length > 123) throw new RangeError("close reason longer than 123 bytes");
  const payload = Buffer.allocUnsafe(2 + r.length);
  payload.writeUInt16BE(code, 0);
  r.copy(payload, 2);
  return encodeMaskedFrame(OPCODE.close, payload);
}
