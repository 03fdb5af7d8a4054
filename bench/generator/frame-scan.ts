/**
 * Reads the few fields the generator needs from server frames without JSON.parse (a full parse of
 * every totals frame at 100k+ deliveries/s would make the generator the bottleneck). Frames are the
 * JSON of shared/protocol.ts messages. Field lookup finds the first occurrence of `"key":` in the
 * frame, so an act id equal to a top-level key name ("seq", "ts") would confuse it; bench shows use
 * act ids like `act-1`. Rare frames (welcome, stage, show, error) are parsed in full by the caller.
 */

export const enum FrameKind {
  Other = 0,
  Totals = 1,
  Ack = 2,
  Welcome = 3,
  Stage = 4,
  Show = 5,
  Error = 6,
}

const TYPE_KEY = Buffer.from('"type":"');
const Q = 0x22,
  COLON = 0x3a,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  MINUS = 0x2d,
  DOT = 0x2e,
  D0 = 0x30,
  D9 = 0x39;

/** Index of `needle` in data[start, end), or -1. */
export function indexIn(data: Buffer, needle: Buffer, start: number, end: number): number {
  const n = needle.length;
  const first = needle[0]!;
  outer: for (let i = start; i <= end - n; i++) {
    if (data[i] !== first) continue;
    for (let j = 1; j < n; j++) if (data[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export function frameKind(data: Buffer, start: number, end: number): FrameKind {
  const i = indexIn(data, TYPE_KEY, start, end);
  if (i < 0) return FrameKind.Other;
  const c = data[i + TYPE_KEY.length];
  const c2 = data[i + TYPE_KEY.length + 1];
  switch (c) {
    case 0x74:
      return FrameKind.Totals; // t
    case 0x61:
      return FrameKind.Ack; // a
    case 0x77:
      return FrameKind.Welcome; // w
    case 0x65:
      return FrameKind.Error; // e
    case 0x73:
      return c2 === 0x74 ? FrameKind.Stage : c2 === 0x68 ? FrameKind.Show : FrameKind.Other; // st / sh
    default:
      return FrameKind.Other;
  }
}

/** `"name":` as bytes, for numberAt. */
export function key(name: string): Buffer {
  return Buffer.from(`"${name}":`);
}

/** Parses the JSON number starting at data[i] (int or decimal); NaN if none. */
export function parseNumberAt(data: Buffer, i: number, end: number): number {
  let neg = false;
  if (data[i] === MINUS) {
    neg = true;
    i++;
  }
  let v = 0;
  let digits = 0;
  while (i < end) {
    const c = data[i]!;
    if (c < D0 || c > D9) break;
    v = v * 10 + (c - D0);
    i++;
    digits++;
  }
  if (digits === 0) return NaN;
  if (data[i] === DOT) {
    i++;
    let scale = 0.1;
    while (i < end) {
      const c = data[i]!;
      if (c < D0 || c > D9) break;
      v += (c - D0) * scale;
      scale /= 10;
      i++;
    }
  }
  return neg ? -v : v;
}

/** Number value of the first `"name":` (given as key(name)) in data[start, end); NaN if absent. */
export function numberField(data: Buffer, k: Buffer, start: number, end: number): number {
  const i = indexIn(data, k, start, end);
  return i < 0 ? NaN : parseNumberAt(data, i + k.length, end);
}

/**
 * Sum of the numbers in the object value of `"name":{...}` (flat object of numbers, e.g. totals or
 * ack.rejected); 0 for an empty or absent object.
 */
export function sumObjectField(data: Buffer, k: Buffer, start: number, end: number): number {
  const i = indexIn(data, k, start, end);
  if (i < 0) return 0;
  let p = i + k.length;
  if (data[p] !== LBRACE) return 0;
  let sum = 0;
  let inString = false;
  for (p++; p < end; p++) {
    const c = data[p]!;
    if (c === Q) inString = !inString;
    else if (!inString && c === COLON) sum += parseNumberAt(data, p + 1, end) || 0;
    else if (!inString && c === RBRACE) break;
  }
  return sum;
}

/** Value of `"<act>":N` inside the `"totals":{...}` object; NaN if absent. */
export function actTotal(data: Buffer, totalsKey: Buffer, actKey: Buffer, start: number, end: number): number {
  const i = indexIn(data, totalsKey, start, end);
  if (i < 0) return NaN;
  return numberField(data, actKey, i + totalsKey.length, end);
}
