/**
 * Fuzz cases: one connection each. A case is generated from the seed (fast-check), turned into the
 * exact bytes to write after the handshake, and carries what the server must do: the oracle's
 * verdict on the first message it refuses ("expect"), or, for input below the message layer
 * (random bytes, lying lengths, unmasked frames), "any" (the server may close or wait; it must stay up).
 * A conversation the server accepts in full ends with a sentinel it must refuse (a binary frame on
 * v1, a text frame on v2), so every message before it is known to have been processed without a close.
 */
import fc from "fast-check";
import { OPCODE, encodeMaskedFrame, fragmented, rawFrame } from "./wire.ts";
import { BAD_UTF8, mutate, mutations, v1GoodHello, v1Message, v2GoodHello, v2Message, type Msg } from "./messages.ts";
import type { Oracle, Verdict } from "./oracle.ts";

export const CATEGORIES = ["stream", "fragmented", "utf8", "oversize", "framing", "lying", "unmasked", "random"] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Case {
  category: Category;
  protocol: 1 | 2;
  chunks: Buffer[];
  /** WebSocket frames (or, for random bytes, writes) in `chunks`. */
  frames: number;
  /** "drop": the connection is dropped without a close frame by uWS (RFC 6455 violations, not counted by name). */
  expect: Verdict | "any" | "drop";
}

type Spec =
  | {
      c: "stream" | "fragmented";
      protocol: 1 | 2;
      hello: boolean;
      msgs: Array<{ m: Msg; mut: Parameters<typeof mutate>[1] | null }>;
      cuts: number[][];
    }
  | { c: "utf8"; protocol: 1 | 2; seqIndex: number; at: number; cut: number }
  | { c: "oversize"; protocol: 1 | 2; size: number }
  | { c: "framing"; protocol: 1 | 2; hello: boolean; kind: number; opcode: number; rsv: number; len: number }
  | { c: "lying" | "unmasked" | "random"; protocol: 1 | 2; bytes: Uint8Array<ArrayBuffer>; delta: number };

const protocol = fc.constantFrom<1 | 2>(1, 2);
const msgs = (p: 1 | 2) =>
  fc.array(fc.record({ m: p === 1 ? v1Message : v2Message, mut: fc.option(mutations, { freq: 12 }) }), { maxLength: 40 });

const spec: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 10,
    arbitrary: protocol.chain((p) =>
      fc.record({
        c: fc.constant("stream" as const),
        protocol: fc.constant(p),
        hello: fc.boolean(),
        msgs: msgs(p),
        cuts: fc.constant<number[][]>([]),
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: protocol.chain((p) =>
      fc.record({
        c: fc.constant("fragmented" as const),
        protocol: fc.constant(p),
        hello: fc.boolean(),
        msgs: msgs(p).map((a) => a.slice(0, 12)),
        cuts: fc.array(fc.array(fc.nat({ max: 60 }), { maxLength: 4 }), { minLength: 13, maxLength: 13 }),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      c: fc.constant("utf8" as const),
      protocol,
      seqIndex: fc.nat({ max: BAD_UTF8.length - 1 }),
      at: fc.nat({ max: 8 }),
      cut: fc.nat({ max: 60 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant("oversize" as const),
      protocol,
      size: fc.oneof(fc.constantFrom(1023, 1024, 1025, 16383, 16384, 16385, 65536), fc.integer({ min: 900, max: 20_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      c: fc.constant("framing" as const),
      protocol,
      hello: fc.boolean(),
      kind: fc.nat({ max: 6 }),
      opcode: fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf),
      rsv: fc.integer({ min: 1, max: 7 }),
      len: fc.integer({ min: 126, max: 400 }),
    }),
  },
  ...(["lying", "unmasked", "random"] as const).map((c) => ({
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant(c),
      protocol,
      bytes: fc.uint8Array({ maxLength: c === "random" ? 3000 : 200 }),
      delta: fc.integer({ min: -50, max: 50 }),
    }),
  })),
);

/** `n` cases of batch `batch` for `seed`: the same seed gives the same cases, batch by batch (streaming). */
export function caseBatch(seed: number, batch: number, n: number, oracle: Oracle): Case[] {
  const specs = fc.sample(spec, { seed: (seed + batch * 1_000_003) | 0, numRuns: n });
  return specs.map((s) => build(s, oracle));
}

const opcodeOf = (m: Msg) => (m.binary ? OPCODE.binary : OPCODE.text);
const sentinel = (p: 1 | 2): Msg => (p === 1 ? { binary: true, payload: Uint8Array.of(0) } : { binary: false, payload: Buffer.from("x") });

function build(s: Spec, oracle: Oracle): Case {
  const p = s.protocol;
  const base = { category: s.c, protocol: p };
  switch (s.c) {
    case "stream":
    case "fragmented": {
      const list: Msg[] = s.hello ? [p === 1 ? v1GoodHello : v2GoodHello] : [];
      for (const { m, mut } of s.msgs) list.push(mut === null ? m : { binary: m.binary, payload: mutate(m.payload, mut) });
      return conversation(base, oracle, list, s.c === "fragmented" ? s.cuts : null);
    }
    case "utf8": {
      // A hello whose viewer id holds a byte sequence that is not UTF-8; fragmented at `cut` (a cut
      // inside a valid multi-byte character is fine: only the whole message must be UTF-8).
      const bad = BAD_UTF8[s.seqIndex]!;
      const head =
        p === 1
          ? Buffer.from('{"type":"hello","protocol":1,"show":"fuzz","viewer":"é')
          : Buffer.from([0x01, 0x01, 0x04, 0x66, 0x75, 0x7a, 0x7a]);
      const viewer = Buffer.concat([Buffer.from("é".repeat(s.at)), Buffer.from(bad), Buffer.from("ü")]);
      const payload =
        p === 1 ? Buffer.concat([head, viewer, Buffer.from('"}')]) : Buffer.concat([head, Buffer.from([viewer.length]), viewer]);
      return conversation(base, oracle, [{ binary: p === 2, payload }], [[s.cut]]);
    }
    case "oversize":
      return conversation(base, oracle, [{ binary: p === 2, payload: Buffer.alloc(s.size, 0x20) }], null);
    case "framing":
      return framing(base, s);
    case "lying": {
      // A length field that claims `delta` bytes more or fewer than follow.
      const claimed = Math.max(0, s.bytes.length + s.delta);
      return {
        ...base,
        chunks: [rawFrame({ opcode: p === 1 ? OPCODE.text : OPCODE.binary, payload: s.bytes, claimedLength: claimed })],
        frames: 1,
        expect: "any",
      };
    }
    case "unmasked": {
      // uWS does not check the MASK bit (it unmasks every frame with the 4 bytes after the length).
      const hello = p === 1 ? v1GoodHello : v2GoodHello;
      return {
        ...base,
        chunks: [rawFrame({ opcode: opcodeOf(hello), payload: Buffer.concat([hello.payload, s.bytes]), unmasked: true })],
        frames: 1,
        expect: "any",
      };
    }
    case "random":
      return { ...base, chunks: [Buffer.from(s.bytes)], frames: 1, expect: "any" };
  }
}

/** Frames for `list`, cut at the first message the oracle refuses (or ended by the sentinel). */
function conversation(base: Pick<Case, "category" | "protocol">, oracle: Oracle, list: Msg[], cuts: number[][] | null): Case {
  const st = { protocol: base.protocol, helloed: false };
  const chunks: Buffer[] = [];
  let expect: Verdict | null = null;
  for (let i = 0; i <= list.length && expect === null; i++) {
    const m = i < list.length ? list[i]! : sentinel(base.protocol);
    const v = oracle.judge(st, m.binary, m.payload);
    const c = cuts?.[i % cuts.length];
    if (c && c.length > 0) chunks.push(...fragmented(opcodeOf(m), m.payload, c, new Set(c.map((_, k) => k + 1))));
    else chunks.push(encodeMaskedFrame(opcodeOf(m), m.payload));
    if (v.kind === "close") expect = v;
  }
  return { ...base, chunks, frames: chunks.length, expect: expect! };
}

function framing(base: Pick<Case, "category" | "protocol">, s: Extract<Spec, { c: "framing" }>): Case {
  const chunks: Buffer[] = s.hello
    ? [
        encodeMaskedFrame(
          opcodeOf(base.protocol === 1 ? v1GoodHello : v2GoodHello),
          (base.protocol === 1 ? v1GoodHello : v2GoodHello).payload,
        ),
      ]
    : [];
  const data = Buffer.from("{}");
  const bad = [
    rawFrame({ opcode: OPCODE.text, rsv: s.rsv, payload: data }), // reserved bits without an extension
    rawFrame({ opcode: s.opcode, payload: data }), // reserved opcode
    rawFrame({ opcode: OPCODE.ping, payload: Buffer.alloc(s.len) }), // control frame over 125 bytes
    rawFrame({ opcode: OPCODE.ping, fin: false, payload: data }), // fragmented control frame
    rawFrame({ opcode: OPCODE.continuation, payload: data }), // continuation with nothing to continue
    Buffer.concat([rawFrame({ opcode: OPCODE.text, fin: false, payload: data }), rawFrame({ opcode: OPCODE.text, payload: data })]), // new message inside a fragmented one
    encodeMaskedFrame(OPCODE.close, Buffer.from([0x03, 0xe8])), // a proper close: answered, not a violation
  ][s.kind]!;
  chunks.push(bad);
  return { ...base, chunks, frames: chunks.length + (s.kind === 5 ? 1 : 0), expect: s.kind === 6 ? "any" : "drop" };
}
