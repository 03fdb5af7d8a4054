/**
 * Property-based generators (fast-check) of client messages, valid and not: v1 JSON and v2 binary
 * payloads, mutations of them (bit flips, byte writes, inserts, deletes, truncation), invalid
 * UTF-8, and every field at and past its limit. Payloads only: framing is cases.ts's.
 */
import fc from "fast-check";
import { encodeClientFrame } from "../../shared/v2/index.ts";

export interface Msg {
  binary: boolean;
  payload: Uint8Array;
}

/** Shows the fuzzer may join (created by the runner), besides ids that name no show. */
export const FUZZ_SHOW = "fuzz";
export const LONG_SHOW = "L".repeat(64);
export const FUZZ_ACTS = ["a1", "a2", "a3"];

const text = (s: string): Msg => ({ binary: false, payload: Buffer.from(s, "utf8") });
const bin = (b: Uint8Array): Msg => ({ binary: true, payload: b });

const idChars = fc.constantFrom(..."abcXYZ019_-".split(""));
const id = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(FUZZ_SHOW, LONG_SHOW, "nope", ...FUZZ_ACTS) },
  { weight: 2, arbitrary: fc.string({ unit: idChars, minLength: 1, maxLength: 66 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
);
const seq = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, 2 ** 53 - 1, 2 ** 53, 1e308, -0) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 }), fc.constant(null)) },
);
const viewer = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom("v".repeat(128), "v".repeat(129), "😀".repeat(64), "😀".repeat(65), ""),
  fc.string({ unit: "grapheme", maxLength: 130 }),
);
const token = fc.oneof(fc.constantFrom("t", "t".repeat(1024), "t".repeat(1025), ""), fc.string({ maxLength: 50 }));

const v1Hello = fc
  .record(
    {
      type: fc.constant("hello"),
      protocol: fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, 1.5, "1") }),
      show: fc.oneof({ weight: 4, arbitrary: fc.constant(FUZZ_SHOW) }, { weight: 1, arbitrary: id }),
      viewer,
      token,
    },
    { requiredKeys: ["type", "protocol", "show"] },
  )
  .map((o) => text(JSON.stringify(o)));

const v1Buzz = fc
  .tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FUZZ_ACTS) }, { weight: 1, arbitrary: id }), seq, fc.nat({ max: 9 }))
  .map(([act, s, style]) =>
    // Canonical (the server's byte-level fast path), then reordered, spaced, extra keys, other types.
    text(
      style < 5
        ? JSON.stringify({ type: "buzz", act, seq: s })
        : style === 5
          ? JSON.stringify({ seq: s, act, type: "buzz" })
          : style === 6
            ? ` { "type" : "buzz" , "act" : ${JSON.stringify(act)} , "seq" : ${JSON.stringify(s)} } `
            : style === 7
              ? JSON.stringify({ type: "buzz", act, seq: s, extra: [1, { a: null }] })
              : style === 8
                ? JSON.stringify({ type: "buzz", act, seq: s, type2: "hello" })
                : JSON.stringify({ type: "ping", act, seq: s }),
    ),
  );

const v1Odd = fc.oneof(
  fc.json().map(text),
  fc.constantFrom("", "null", "[]", "{}", '{"type":"buzz"}', '{"type":"hello"}', '"hello"', "\uFEFF{}", "{".repeat(500)).map(text),
);

export const v1Message: fc.Arbitrary<Msg> = fc.oneof(
  { weight: 2, arbitrary: v1Hello },
  { weight: 12, arbitrary: v1Buzz },
  { weight: 1, arbitrary: v1Odd },
);
export const v1GoodHello: Msg = text(JSON.stringify({ type: "hello", protocol: 1, show: FUZZ_SHOW }));

const v2Hello = fc
  .record(
    { show: fc.oneof({ weight: 4, arbitrary: fc.constant(FUZZ_SHOW) }, { weight: 1, arbitrary: id }), viewer, token },
    { requiredKeys: ["show"] },
  )
  .map((h) => {
    try {
      return bin(encodeClientFrame({ type: "hello", ...h }));
    } catch {
      return bin(encodeClientFrame({ type: "hello", show: FUZZ_SHOW })); // the encoder refuses what it cannot encode
    }
  });
const v2Buzz = fc
  .tuple(fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.nat() }), fc.nat({ max: 2 ** 40 }))
  .map(([act, s]) => bin(encodeClientFrame({ type: "buzz", act, seq: s })));
const v2Odd = fc
  .oneof(
    fc.constantFrom(
      [0x03],
      [0x02, 0x80, 0x00, 0x01], // non-minimal varint
      [0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], // seq 2^53-1
      [0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10], // seq 2^53: unsafe
      [0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 9 bytes: overlong
      [0x01, 0x02, 0x04, 0x66, 0x75, 0x7a, 0x7a], // reserved hello flag
      [0x01, 0x01, 0x04, 0x66, 0x75, 0x7a, 0x7a, 0x00], // empty viewer
      [0x01, 0x00, 0x04, 0x66, 0x75, 0x7a, 0x7a, 0x01, 0x00], // empty token extension
      [0x01, 0x00, 0x04, 0x66, 0x75, 0x7a, 0x7a, 0x00, 0x00], // tag 0: trailing bytes
      [0x10, 0x00],
      [0x00],
      [],
    ),
    fc.array(fc.nat({ max: 255 }), { maxLength: 40 }),
  )
  .map((a) => bin(Uint8Array.from(a)));

export const v2Message: fc.Arbitrary<Msg> = fc.oneof(
  { weight: 2, arbitrary: v2Hello },
  { weight: 12, arbitrary: v2Buzz },
  { weight: 1, arbitrary: fc.constant(bin(Uint8Array.of(0x03))) },
  { weight: 1, arbitrary: v2Odd },
);
export const v2GoodHello: Msg = bin(encodeClientFrame({ type: "hello", show: FUZZ_SHOW }));

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, > U+10FFFF, cut, 0xFF. */
export const BAD_UTF8: readonly number[][] = [
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0xff],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "delete"; at: number; n: number }
  | { op: "truncate"; at: number }
  | { op: "badUtf8"; at: number; seqIndex: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("badUtf8" as const), at: fc.nat(), seqIndex: fc.nat({ max: BAD_UTF8.length - 1 }) }),
);
export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

export function mutate(p: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = Array.from(p);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.op === "flip" && at < b.length) b[at] = b[at]! ^ (1 << m.bit);
    else if (m.op === "set" && at < b.length) b[at] = m.byte;
    else if (m.op === "insert") b.splice(at, 0, ...m.bytes);
    else if (m.op === "delete") b.splice(at, m.n);
    else if (m.op === "truncate") b = b.slice(0, at);
    else if (m.op === "badUtf8") b.splice(at, 0, ...BAD_UTF8[m.seqIndex]!);
  }
  return Uint8Array.from(b);
}
