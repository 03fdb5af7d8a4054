/**
 * Byte cursors used by every frame codec. Encoding runs each frame's field list twice: once through
 * a Sizer (validates every value and counts bytes), then through a Writer over one exactly-sized
 * Uint8Array: one allocation per frame, and a value the wire cannot carry fails before any byte is
 * written. Reader throws only V2DecodeError.
 */
import { V2DecodeError, V2EncodeError } from "./errors.ts";
import { assertVarint, readVarint, utf8Length, varintSize, writeVarint } from "./varint.ts";

/** The field operations a frame encoder calls; Sizer and Writer implement them. */
export interface Out {
  byte(b: number): void;
  varint(v: number, what: string): void;
  str(s: string): void;
}

export class Sizer implements Out {
  size = 0;
  byte(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new V2EncodeError(`byte out of range: ${b}`);
    this.size += 1;
  }
  varint(v: number, what: string): void {
    assertVarint(v, what);
    this.size += varintSize(v);
  }
  str(s: string): void {
    if (typeof s !== "string") throw new V2EncodeError(`expected a string, got ${typeof s}`);
    const n = utf8Length(s);
    this.size += varintSize(n) + n;
  }
}

// Created on first use, not at import: a runtime without TextEncoder/TextDecoder (older React
// Native) can still import the package and speak v1; v2 needs them (or a polyfill).
let utf8Encoder: TextEncoder | undefined;

export class Writer implements Out {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(v: number): void {
    this.pos = writeVarint(this.buf, this.pos, v);
  }
  str(s: string): void {
    const n = utf8Length(s);
    this.pos = writeVarint(this.buf, this.pos, n);
    this.pos += (utf8Encoder ??= new TextEncoder()).encodeInto(s, this.buf.subarray(this.pos, this.pos + n)).written;
  }
}

/** Runs `fields` through a Sizer, then a Writer; returns the frame's bytes. */
export function encodeWith<F>(frame: F, fields: (f: F, out: Out) => void): Uint8Array {
  const sizer = new Sizer();
  fields(frame, sizer);
  const w = new Writer(sizer.size);
  fields(frame, w);
  if (w.pos !== w.buf.length) throw new V2EncodeError(`internal: sized ${w.buf.length} bytes, wrote ${w.pos}`);
  return w.buf;
}

/** fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is kept, not eaten. */
let utf8Decoder: TextDecoder | undefined;

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new V2DecodeError("truncated", "frame ends before a byte field", this.pos);
    return this.buf[this.pos++]!;
  }
  varint(): number {
    const v = readVarint(this.buf, this.pos);
    this.pos += varintSize(v);
    return v;
  }
  /** A count of items that take at least `minBytes` each: refuses counts the frame cannot hold,
   *  so a hostile count never drives a long loop or a large allocation. */
  count(minBytes: number): number {
    const at = this.pos;
    const n = this.varint();
    if (n * minBytes > this.remaining) throw new V2DecodeError("truncated", `count ${n} exceeds the frame`, at);
    return n;
  }
  str(): string {
    const at = this.pos;
    const n = this.varint();
    if (n > this.remaining) throw new V2DecodeError("truncated", `string of ${n} bytes exceeds the frame`, at);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return (utf8Decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })).decode(bytes);
    } catch {
      throw new V2DecodeError("bad_utf8", "string is not valid UTF-8", at);
    }
  }
  fail(reason: ConstructorParameters<typeof V2DecodeError>[0], detail: string, at = this.pos): never {
    throw new V2DecodeError(reason, detail, at);
  }
}
