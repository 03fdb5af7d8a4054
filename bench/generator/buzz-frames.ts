/**
 * Pre-encoded, masked `buzz` frames (shared/protocol.ts `Buzz`) with a fixed layout, so a batch of
 * frames is produced by rewriting only the seq digits: no JSON.stringify, no masking pass per frame.
 *
 * Every seq has SEQ_DIGITS digits (from SEQ_BASE), so all buzz frames of a connection have the same
 * length; the server sees ordinary, strictly increasing seqs. The mask key is random per BuzzFrames
 * object and reused for its frames: RFC 6455 asks for a fresh key per frame (against proxy cache
 * poisoning); the server's unmasking cost does not depend on the key, so this costs it nothing and
 * saves the generator a masking pass per frame.
 *
 * Protocol v2 (an act index given): binary frames `02 <act index varint> <seq varint>`; every seq
 * from SEQ_BASE to SEQ_MAX is a 5-byte varint, so the layout is fixed the same way (7 bytes for an
 * index below 128).
 */
import type { Buzz } from "../../shared/protocol.ts";
import { encodeClientFrame } from "../../shared/v2/index.ts";
import type { Dialect } from "./dialect.ts";
import { maskedHeaderLength, newMaskKey, OPCODE, writeMaskedFrame } from "./ws-frame.ts";

export const SEQ_DIGITS = 10;
/** First seq a generator connection uses; the largest is 9_999_999_999. */
export const SEQ_BASE = 1_000_000_000;
const SEQ_MAX = 9_999_999_999;
const DIGIT_PLACEHOLDER = SEQ_BASE; // 10 digits
/** Bytes of the varint of every seq in [SEQ_BASE, SEQ_MAX] (2^28 <= SEQ_BASE, SEQ_MAX < 2^35). */
const SEQ_VARINT_BYTES = 5;

export class BuzzFrames {
  /** Bytes of one frame. */
  readonly frameBytes: number;
  private readonly buf: Buffer;
  private readonly digitsAt: number; // offset of the first seq digit inside a frame
  private readonly mask: Buffer;
  private readonly maskPhase: number; // payload offset of the first digit: selects the mask byte
  private readonly binary: boolean;

  /** `v2ActIndex`: speak protocol v2, naming the act by this index of the show's act table. */
  constructor(
    dialect: Dialect,
    act: string,
    readonly capacity: number,
    v2ActIndex?: number,
  ) {
    let payload: Buffer;
    let digitsInPayload: number;
    this.binary = v2ActIndex !== undefined;
    if (v2ActIndex !== undefined) {
      payload = Buffer.from(encodeClientFrame({ type: "buzz", act: v2ActIndex, seq: SEQ_BASE }));
      digitsInPayload = payload.length - SEQ_VARINT_BYTES;
    } else {
      const buzz: Buzz = { type: "buzz", act, seq: DIGIT_PLACEHOLDER };
      const json = JSON.stringify(buzz);
      const { prefix, suffix } = dialect.framing("buzz");
      payload = Buffer.from(prefix + json + suffix, "utf8");
      digitsInPayload = Buffer.byteLength(prefix, "utf8") + json.lastIndexOf(String(DIGIT_PLACEHOLDER));
    }
    const header = maskedHeaderLength(payload.length);
    this.frameBytes = header + payload.length;
    this.digitsAt = header + digitsInPayload;
    this.mask = newMaskKey();
    this.buf = Buffer.allocUnsafe(this.frameBytes * capacity);
    const opcode = this.binary ? OPCODE.binary : OPCODE.text;
    for (let i = 0; i < capacity; i++) writeMaskedFrame(this.buf, i * this.frameBytes, opcode, payload, this.mask);
    this.maskPhase = digitsInPayload;
  }

  /**
   * Frames for seqs first .. first+count-1 (count <= capacity), as a view of the internal buffer:
   * valid until the next fill, so call it only when the previous write has left Node's queue.
   */
  fill(first: number, count: number): Buffer {
    if (count > this.capacity) throw new RangeError(`count ${count} > capacity ${this.capacity}`);
    if (first < SEQ_BASE || first + count - 1 > SEQ_MAX) throw new RangeError(`seq out of the ${SEQ_DIGITS}-digit range`);
    const buf = this.buf;
    const m = this.mask;
    if (this.binary) return this.fillVarints(first, count);
    for (let i = 0; i < count; i++) {
      let v = first + i;
      const base = i * this.frameBytes + this.digitsAt;
      for (let d = SEQ_DIGITS - 1; d >= 0; d--) {
        const digit = v % 10;
        v = (v - digit) / 10;
        buf[base + d] = (0x30 + digit) ^ m[(this.maskPhase + d) & 3]!;
      }
    }
    return buf.subarray(0, count * this.frameBytes);
  }

  /** v2: rewrites the 5-byte seq varint of each frame (7 bits per byte, high bit on all but the last). */
  private fillVarints(first: number, count: number): Buffer {
    const buf = this.buf;
    const m = this.mask;
    for (let i = 0; i < count; i++) {
      let v = first + i;
      const base = i * this.frameBytes + this.digitsAt;
      for (let d = 0; d < SEQ_VARINT_BYTES; d++) {
        const group = v % 0x80;
        v = (v - group) / 0x80;
        buf[base + d] = (d < SEQ_VARINT_BYTES - 1 ? group | 0x80 : group) ^ m[(this.maskPhase + d) & 3]!;
      }
    }
    return buf.subarray(0, count * this.frameBytes);
  }
}
