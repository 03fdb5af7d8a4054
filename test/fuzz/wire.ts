/**
 * Client frames as the fuzzer sends them. Well-formed frames come from the bench's encoder
 * (bench/generator/ws-frame.ts); `rawFrame` can also break every rule of RFC 6455 section 5.2 on
 * purpose: FIN off, reserved bits, any opcode, no mask, a length field that lies.
 */
import { OPCODE, encodeMaskedFrame, type Opcode } from "../../bench/generator/ws-frame.ts";

export { OPCODE, encodeMaskedFrame };

export interface RawFrameSpec {
  fin?: boolean;
  /** RSV1-3 as bits 0-2 (0 = none). */
  rsv?: number;
  opcode: number;
  payload: Uint8Array;
  /** Omit the mask (clients must mask: RFC 6455 5.1). */
  unmasked?: boolean;
  /** The length the header claims, when it lies. */
  claimedLength?: number;
}

export function rawFrame(spec: RawFrameSpec): Buffer {
  const n = spec.payload.length;
  const len = spec.claimedLength ?? n;
  const masked = spec.unmasked !== true;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + ext + (masked ? 4 : 0) + n);
  out[0] = (spec.fin === false ? 0 : 0x80) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  let o = 2;
  if (ext === 0) out[1] = maskBit | len;
  else if (ext === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(len, 2);
    o = 4;
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32) >>> 0, 2);
    out.writeUInt32BE(len >>> 0, 6);
    o = 10;
  }
  if (!masked) {
    out.set(spec.payload, o);
    return out;
  }
  const mask = [0x5a, 0x13, 0xc7, 0x2e];
  out.set(mask, o);
  o += 4;
  for (let i = 0; i < n; i++) out[o + i] = spec.payload[i]! ^ mask[i & 3]!;
  return out;
}

/** A message split into `parts` fragments (first with its opcode, then continuations), with the
 *  given control frames (ping/pong) inserted before fragment i where `controlsBefore[i]` is set. */
export function fragmented(opcode: Opcode, payload: Uint8Array, cuts: readonly number[], controls: ReadonlySet<number>): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(payload.length, Math.max(0, c))))].sort((a, b) => a - b);
  const bounds = [0, ...points.filter((p) => p > 0 && p < payload.length), payload.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (controls.has(i) && i > 0) out.push(encodeMaskedFrame(i % 2 === 0 ? OPCODE.ping : OPCODE.pong, Buffer.from("fz")));
    const last = i + 2 === bounds.length;
    out.push(rawFrame({ fin: last, opcode: i === 0 ? opcode : OPCODE.continuation, payload: payload.subarray(bounds[i], bounds[i + 1]) }));
  }
  return out;
}
