/**
 * Incremental parser for the frames a server sends to a client (RFC 6455 section 5). Accepts input in
 * arbitrary chunks, which may be a shared read buffer valid only during the call: every byte that has
 * to outlive the call (a partial frame, a fragment) is copied. Complete unfragmented text frames are
 * handed out as a view into the input, with no copy. Messages larger than `maxMessageBytes` are a
 * protocol error. After a close frame or a protocol error, further input is ignored.
 * Binary messages (protocol v2) and RSV1 (a permessage-deflate compressed message) are accepted only
 * when enabled; during a sink call `messageWireBytes` is the message's size on the wire (frame
 * headers included, compressed bytes when compressed) and `compressed` says whether RSV1 was set.
 */
import { OPCODE } from "./ws-frame.ts";

export interface FrameSink {
  /** A complete text message: bytes [start, end) of `data`, valid only during the call. */
  onText(data: Buffer, start: number, end: number): void;
  /** A complete binary message (only when the parser allows them), like onText. */
  onBinary?(data: Buffer, start: number, end: number): void;
  onClose(code: number, reason: string): void;
  onPing(payload: Buffer): void;
  onProtocolError(message: string): void;
}

const NO_STATUS = 1005;

export class FrameParser {
  private carry: Buffer | null = null;
  private carryLen = 0;
  private fragments: Buffer[] | null = null;
  private fragmentBytes = 0;
  private done = false;
  private fragmentBinary = false;
  private fragmentCompressed = false;
  private fragmentWire = 0;
  /** Wire bytes of the message being delivered (valid during a sink call). */
  messageWireBytes = 0;
  /** Whether the message being delivered is compressed (RSV1, permessage-deflate). */
  compressed = false;
  /** Accept binary messages (protocol v2). */
  allowBinary = false;
  /** Accept RSV1 on a message's first frame (permessage-deflate was negotiated). */
  allowCompressed = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageBytes = 64 * 1024 * 1024,
  ) {}

  /** Feeds bytes [start, end) of `buf`. */
  feed(buf: Buffer, start = 0, end = buf.length): void {
    let s = start;
    while (this.carry !== null && s < end && !this.done) {
      // Complete the header first, then the frame, never taking bytes past this frame's end.
      let want: number;
      let total = -1;
      if (this.carryLen < 2) want = 2 - this.carryLen;
      else {
        const header = headerLength(this.carry[1]!);
        if (this.carryLen < header) want = header - this.carryLen;
        else {
          total = this.frameLength(this.carry, 0, this.carryLen);
          if (total === -2) return;
          want = total - this.carryLen;
          if (total > this.carry.length) {
            const bigger = Buffer.allocUnsafe(total);
            this.carry.copy(bigger, 0, 0, this.carryLen);
            this.carry = bigger;
          }
        }
      }
      const take = Math.min(want, end - s);
      buf.copy(this.carry, this.carryLen, s, s + take);
      this.carryLen += take;
      s += take;
      if (total >= 0 && this.carryLen === total) {
        const frame = this.carry;
        this.carry = null;
        this.carryLen = 0;
        this.frame(frame, 0, total);
      } else if (total < 0 && this.carryLen >= 2 && this.carryLen === headerLength(this.carry[1]!)) {
        // Header just completed: loop again to learn the length (a zero-length frame completes here).
        const t = this.frameLength(this.carry, 0, this.carryLen);
        if (t === -2) return;
        if (t === this.carryLen) {
          const frame = this.carry;
          this.carry = null;
          this.carryLen = 0;
          this.frame(frame, 0, t);
        }
      }
    }
    while (s < end && !this.done) {
      const total = this.frameLength(buf, s, end);
      if (total === -2) return;
      if (total < 0 || s + total > end) {
        const rest = end - s;
        this.carry = Buffer.allocUnsafe(Math.max(total, 14, rest));
        buf.copy(this.carry, 0, s, end);
        this.carryLen = rest;
        return;
      }
      this.frame(buf, s, s + total);
      s += total;
    }
  }

  /** Total frame length, -1 if the header is still incomplete, -2 after a protocol error. */
  private frameLength(b: Buffer, s: number, e: number): number {
    if (e - s < 2) return -1;
    const b1 = b[s + 1]!;
    const len7 = b1 & 0x7f;
    const header = headerLength(b1);
    if (e - s < header) return -1;
    let len = len7;
    if (len7 === 126) len = b.readUInt16BE(s + 2);
    else if (len7 === 127) {
      const hi = b.readUInt32BE(s + 2);
      len = hi * 2 ** 32 + b.readUInt32BE(s + 6);
    }
    if (len > this.maxMessageBytes) {
      this.fail(`frame of ${len} bytes exceeds the ${this.maxMessageBytes}-byte limit`);
      return -2;
    }
    return header + len;
  }

  private frame(b: Buffer, s: number, e: number): void {
    const b0 = b[s]!;
    const b1 = b[s + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const rsv1 = (b0 & 0x40) !== 0;
    if ((b0 & 0x30) !== 0 || (rsv1 && (!this.allowCompressed || opcode === OPCODE.continuation || opcode >= 0x8))) {
      return this.fail("reserved bits set without a negotiated extension");
    }
    const len7 = b1 & 0x7f;
    let p = s + 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
    if ((b1 & 0x80) !== 0) {
      // Servers must not mask (RFC 6455 5.1); tolerated here, unmasked in place.
      const m = b.subarray(p, p + 4);
      p += 4;
      for (let i = p; i < e; i++) b[i] = b[i]! ^ m[(i - p) & 3]!;
    }
    if (opcode >= 0x8) {
      if (!fin || e - p > 125) return this.fail("control frame fragmented or longer than 125 bytes");
      if (opcode === OPCODE.close) {
        this.done = true;
        if (e - p === 1) return this.fail("close frame with a 1-byte payload");
        const code = e - p >= 2 ? b.readUInt16BE(p) : NO_STATUS;
        this.sink.onClose(code, b.toString("utf8", p + 2, e));
      } else if (opcode === OPCODE.ping) {
        this.sink.onPing(Buffer.from(b.subarray(p, e)));
      } else if (opcode !== OPCODE.pong) {
        this.fail(`unknown control opcode ${opcode}`);
      }
      return;
    }
    if (opcode === OPCODE.continuation) {
      if (this.fragments === null) return this.fail("continuation frame without a message to continue");
      this.fragmentBytes += e - p;
      this.fragmentWire += e - s;
      if (this.fragmentBytes > this.maxMessageBytes) return this.fail("fragmented message exceeds the size limit");
      this.fragments.push(Buffer.from(b.subarray(p, e)));
      if (fin) {
        const whole = Buffer.concat(this.fragments, this.fragmentBytes);
        this.fragments = null;
        this.fragmentBytes = 0;
        this.deliver(this.fragmentBinary, this.fragmentCompressed, this.fragmentWire, whole, 0, whole.length);
      }
      return;
    }
    if (opcode !== OPCODE.text && opcode !== OPCODE.binary) return this.fail(`unknown data opcode ${opcode}`);
    if (this.fragments !== null) return this.fail("new message started before the fragmented one finished");
    if (opcode === OPCODE.binary && !this.allowBinary) return this.fail("binary frames are not part of protocol v1");
    if (fin) {
      this.deliver(opcode === OPCODE.binary, rsv1, e - s, b, p, e);
    } else {
      this.fragments = [Buffer.from(b.subarray(p, e))];
      this.fragmentBytes = e - p;
      this.fragmentWire = e - s;
      this.fragmentBinary = opcode === OPCODE.binary;
      this.fragmentCompressed = rsv1;
    }
  }

  private deliver(binary: boolean, compressed: boolean, wireBytes: number, b: Buffer, p: number, e: number): void {
    this.messageWireBytes = wireBytes;
    this.compressed = compressed;
    if (binary) this.sink.onBinary?.(b, p, e);
    else this.sink.onText(b, p, e);
  }

  private fail(message: string): void {
    this.done = true;
    this.sink.onProtocolError(message);
  }
}

/** Header size (with mask key if present) implied by a frame's second byte. */
function headerLength(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}
