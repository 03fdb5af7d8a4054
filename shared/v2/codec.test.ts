/** Property-based round trips for every frame type, and the fuzz test of both decoders. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { REJECT_REASONS } from "../codes.ts";
import { V2_REJECT_ORDER } from "./constants.ts";
import { decodeClientFrame, decodeServerFrame } from "./decode.ts";
import { encodeClientFrame, encodeServerFrame } from "./encode.ts";
import { V2DecodeError } from "./errors.ts";
import type { V2ClientFrame, V2ServerFrame } from "./frames.ts";
import { readVarint, varintSize, writeVarint } from "./varint.ts";
import { viewerIdProblem } from "../viewer-id.ts";

const u = fc.maxSafeNat();
/** fast-check builds null-prototype records; compare plain JSON-shaped values. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const small = fc.nat({ max: 300 });
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const text = fc.string({ unit: "binary", minLength: 1, maxLength: 40 });
const acts = fc.array(fc.record({ id, name: text }), { maxLength: 12 });
const show = fc.record({ id, title: text, acts });
const ext = { tickMs: u, watching: u };

const clientFrame: fc.Arbitrary<V2ClientFrame> = fc
  .oneof(
    fc.record(
      {
        type: fc.constant("hello" as const),
        show: id,
        viewer: fc.string({ unit: "binary", minLength: 1, maxLength: 128 }),
        token: fc.string({ unit: "binary", minLength: 1, maxLength: 300 }),
      },
      { requiredKeys: ["type", "show"] },
    ),
    fc.record({ type: fc.constant("buzz" as const), act: u, seq: u }),
    fc.constant({ type: "keyframe_request" as const }),
  )
  // The encoder refuses a viewer id the server would refuse (shared/viewer-id.ts).
  .filter((f) => f.type !== "hello" || f.viewer === undefined || viewerIdProblem(f.viewer) === null);

const welcome = show.chain((s) =>
  fc.record(
    {
      type: fc.constant("welcome" as const),
      show: fc.constant(s),
      epoch: fc.string({ unit: "binary" }),
      epochId: u,
      seq: u,
      tickMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      policy: fc.constantFrom("once" as const, "unlimited" as const),
      stage: fc.record({
        act: s.acts.length ? fc.option(fc.nat({ max: s.acts.length - 1 }), { nil: null }) : fc.constant(null),
        open: fc.boolean(),
      }),
      totals: fc.array(u, { minLength: s.acts.length, maxLength: s.acts.length }),
    },
    { requiredKeys: ["type", "show", "epoch", "epochId", "seq", "tickMs", "stage", "totals"] },
  ),
);
const changes = fc
  .uniqueArray(small, { maxLength: 20 })
  .chain((idx) => fc.tuple(...idx.sort((a, b) => a - b).map((i) => fc.tuple(fc.constant(i), u))));
const head = { epochId: u, seq: u, ts: u };
const serverFrame: fc.Arbitrary<V2ServerFrame> = fc.oneof(
  welcome,
  fc.record(
    { type: fc.constant("keyframe" as const), ...head, totals: fc.array(u, { maxLength: 30 }), ...ext },
    { requiredKeys: ["type", "epochId", "seq", "ts", "totals"] },
  ),
  fc.record(
    { type: fc.constant("delta" as const), ...head, changes, ...ext },
    { requiredKeys: ["type", "epochId", "seq", "ts", "changes"] },
  ),
  fc.record({ type: fc.constant("stage" as const), act: fc.option(small, { nil: null }), open: fc.boolean() }),
  fc.record({ type: fc.constant("show" as const), show, epoch: fc.string({ unit: "binary" }), epochId: u }),
  fc.record({
    type: fc.constant("ack" as const),
    seq: u,
    counted: u,
    rejected: fc.record(Object.fromEntries(V2_REJECT_ORDER.map((r) => [r, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })])), {
      requiredKeys: [],
    }),
    last: fc.constantFrom("counted" as const, ...V2_REJECT_ORDER),
  }),
  fc.record({ type: fc.constant("error" as const), close: fc.nat({ max: 4999 }), message: fc.string({ unit: "binary", maxLength: 200 }) }),
);

test("varint: every safe integer round-trips in varintSize bytes, at most 8", () => {
  fc.assert(
    fc.property(u, (v) => {
      const buf = new Uint8Array(varintSize(v));
      assert.equal(writeVarint(buf, 0, v), buf.length);
      assert.ok(buf.length <= 8);
      assert.equal(readVarint(buf, 0), v);
    }),
    { numRuns: 2000 },
  );
  for (const [v, n] of [
    [0, 1],
    [127, 1],
    [128, 2],
    [16383, 2],
    [16384, 3],
    [2 ** 28 - 1, 4],
    [2 ** 28, 5],
    [Number.MAX_SAFE_INTEGER, 8],
  ] as const)
    assert.equal(varintSize(v), n, String(v));
});

test("ack reason order covers every REJECT reason of codes.ts (append new ones to V2_REJECT_ORDER)", () => {
  assert.deepEqual([...V2_REJECT_ORDER].sort(), [...REJECT_REASONS].sort());
});

test("property: an ack from a newer server (reasons appended past this order) decodes; unknown counts are summed", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(1000), { minLength: V2_REJECT_ORDER.length + 1, maxLength: V2_REJECT_ORDER.length + 6 }),
      fc.nat(V2_REJECT_ORDER.length + 6),
      (counts, lastCode) => {
        const bytes = new Uint8Array(5 + counts.length * 2 + 2);
        let pos = writeVarint(bytes, 0, 0x15);
        pos = writeVarint(bytes, pos, 9); // seq
        pos = writeVarint(bytes, pos, 4); // counted
        pos = writeVarint(bytes, pos, counts.length);
        for (const c of counts) pos = writeVarint(bytes, pos, c);
        pos = writeVarint(bytes, pos, lastCode);
        const f = decodeServerFrame(bytes.subarray(0, pos));
        assert.ok(f.type === "ack");
        const known = counts.slice(0, V2_REJECT_ORDER.length);
        const unknown = counts.slice(V2_REJECT_ORDER.length).reduce((a, b) => a + b, 0);
        const expected: Record<string, number> = {};
        known.forEach((c, i) => {
          if (c > 0) expected[V2_REJECT_ORDER[i]!] = c;
        });
        assert.deepEqual(f.rejected, expected);
        assert.equal(f.rejectedOther, unknown > 0 ? unknown : undefined);
        const lastExpected = lastCode === 0 ? "counted" : (V2_REJECT_ORDER[lastCode - 1] ?? "rejected_other");
        assert.equal(f.last, lastExpected);
      },
    ),
  );
});

test("property: every client frame round-trips", () => {
  fc.assert(
    fc.property(clientFrame, (f) => assert.deepEqual(decodeClientFrame(encodeClientFrame(f)), plain(f))),
    { numRuns: 1000 },
  );
});

test("property: every server frame round-trips (with its act table size where it applies)", () => {
  fc.assert(
    fc.property(serverFrame, (f) => {
      const bytes = encodeServerFrame(f);
      assert.deepEqual(decodeServerFrame(bytes), plain(f));
      if (f.type === "keyframe") assert.deepEqual(decodeServerFrame(bytes, f.totals.length), plain(f));
      if (f.type === "delta") assert.deepEqual(decodeServerFrame(bytes, 301), plain(f));
    }),
    { numRuns: 1000 },
  );
});

/** The decoder contract: a frame or V2DecodeError, nothing else; bounded time. */
function decodesOrRefuses(bytes: Uint8Array): void {
  for (const run of [() => decodeClientFrame(bytes), () => decodeServerFrame(bytes), () => decodeServerFrame(bytes, 3)]) {
    try {
      const f = run();
      assert.equal(typeof f.type, "string");
    } catch (e) {
      if (!(e instanceof V2DecodeError)) throw e;
      assert.equal(e.code, "bad_frame");
    }
  }
}

test("fuzz: random bytes decode to a frame or a V2DecodeError, never anything else", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrRefuses), { numRuns: 20000 });
  // Every frame type byte followed by random bytes, so the fuzz reaches past the type switch.
  const typed = fc
    .tuple(fc.constantFrom(0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16), fc.uint8Array({ maxLength: 48 }))
    .map(([t, rest]) => Uint8Array.of(t, ...rest));
  fc.assert(fc.property(typed, decodesOrRefuses), { numRuns: 20000 });
});

test("fuzz: mutated valid frames (flipped, cut, inserted bytes) decode or refuse cleanly", () => {
  const valid = fc.oneof(clientFrame.map(encodeClientFrame), serverFrame.map(encodeServerFrame));
  const mutated = fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "cut", "insert")), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([bytes, ops]) => {
      let b = Array.from(bytes);
      for (const [at, v, op] of ops) {
        const i = b.length ? at % b.length : 0;
        if (op === "set") b[i] = v;
        else if (op === "cut") b = b.slice(0, i);
        else b.splice(i, 0, v);
      }
      return Uint8Array.from(b);
    });
  fc.assert(fc.property(mutated, decodesOrRefuses), { numRuns: 10000 });
});

test("a hostile count cannot make the decoder loop or allocate: refused at once", () => {
  const huge = Uint8Array.of(0x11, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
  const t0 = performance.now();
  assert.throws(
    () => decodeServerFrame(huge),
    (e: unknown) => e instanceof V2DecodeError && e.reason === "truncated",
  );
  assert.ok(performance.now() - t0 < 1000);
});
