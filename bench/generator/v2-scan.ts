/**
 * Reads the few fields the generator needs from protocol v2 server frames without decoding them
 * (docs/protocol-v2.md): the type byte, and for totals frames (keyframe 0x11, delta 0x12) epochId,
 * seq and ts, which are the first three varints after it; and one act's total. Frames are trusted
 * to be well formed (the server is under test, not hostile): a truncated varint reads as NaN.
 * Rare frames (welcome, show, ack, error) are decoded in full with the shared codec by the caller.
 * Allocation-free: results go into a reused object.
 */
import { FRAME } from "../../shared/v2/constants.ts";

export interface TotalsHead {
  epochId: number;
  seq: number;
  ts: number;
  /** Offset of the first byte after ts (the act count). */
  next: number;
}

let pos = 0;
/** Unsigned LEB128 at data[pos] (at most 8 bytes), advancing `pos`; NaN past `end`. */
function varint(data: Buffer, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return NaN;
    const b = data[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 0x80;
  }
  return NaN;
}

export function isTotalsFrame(type: number | undefined): boolean {
  return type === FRAME.keyframe || type === FRAME.delta;
}

/** epochId, seq and ts of the totals frame at data[start, end), into `out`. */
export function readTotalsHead(data: Buffer, start: number, end: number, out: TotalsHead): TotalsHead {
  pos = start + 1;
  out.epochId = varint(data, end);
  out.seq = varint(data, end);
  out.ts = varint(data, end);
  out.next = pos;
  return out;
}

/**
 * The total of act `index` in the totals frame at data[start, end) whose head was read into `head`;
 * NaN when a delta does not list it (unchanged) or the frame is cut.
 */
export function v2ActTotal(data: Buffer, start: number, end: number, head: TotalsHead, index: number): number {
  pos = head.next;
  const n = varint(data, end);
  if (data[start] === FRAME.keyframe) {
    if (!(index < n)) return NaN;
    for (let i = 0; i < index; i++) varint(data, end);
    return varint(data, end);
  }
  for (let i = 0; i < n; i++) {
    const at = varint(data, end);
    const total = varint(data, end);
    if (at === index) return total;
    if (!(at < index)) return NaN;
  }
  return NaN;
}
