import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { V2DecodeError, decodeClientFrame, encodeClientFrame } from "../../shared/v2/index.ts";
import { fastBuzzV2 } from "./fast-buzz-v2.ts";

/** The fast path must agree with the reference decoder: same buzz, or step aside (null). */
function agrees(bytes: Uint8Array): void {
  const fast = fastBuzzV2(bytes);
  let ref: ReturnType<typeof decodeClientFrame> | null = null;
  try {
    ref = decodeClientFrame(bytes);
  } catch (e) {
    if (!(e instanceof V2DecodeError)) throw e;
  }
  if (fast === null) return;
  assert.ok(ref !== null && ref.type === "buzz", `fast path accepted what the decoder refuses: ${Buffer.from(bytes).toString("hex")}`);
  assert.deepEqual({ act: fast.act, seq: fast.seq }, { act: ref.act, seq: ref.seq });
}

test("every canonical buzz takes the fast path with the decoder's values", () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (act, seq) => {
      const f = fastBuzzV2(encodeClientFrame({ type: "buzz", act, seq }));
      assert.deepEqual(f && { act: f.act, seq: f.seq }, { act, seq });
    }),
    { numRuns: 5000 },
  );
  assert.deepEqual({ ...fastBuzzV2(Uint8Array.of(0x02, 0x03, 0x02)) }, { act: 3, seq: 2 }, "docs/protocol-v2.md's example");
});

test("edge encodings: non-minimal, 9-byte, above 2^53-1, cut, trailing bytes and extensions step aside", () => {
  for (const hex of [
    "028000 01",
    "02 01 ffffffffffffffff01",
    "02 01 80808080808080 10",
    "02 01 80",
    "02 01 01 00",
    "02 01 02 07 02 aabb",
    "03",
    "02",
  ]) {
    const bytes = Buffer.from(hex.replace(/ /g, ""), "hex");
    assert.equal(fastBuzzV2(bytes), null, hex);
    agrees(bytes);
  }
  const max = fastBuzzV2(Buffer.from("0201ffffffffffffff0f", "hex"));
  assert.equal(max?.seq, Number.MAX_SAFE_INTEGER);
});

test("fuzz: random and mutated bytes never make the fast path disagree with the decoder", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), agrees), { numRuns: 20000 });
  const typed = fc.tuple(fc.constantFrom(0x02), fc.uint8Array({ maxLength: 18 })).map(([t, rest]) => Uint8Array.of(t, ...rest));
  fc.assert(fc.property(typed, agrees), { numRuns: 20000 });
});
