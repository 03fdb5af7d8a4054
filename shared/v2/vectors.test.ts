import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { V2_SUBPROTOCOL } from "./constants.ts";
import { decodeClientFrame, decodeServerFrame } from "./decode.ts";
import { encodeClientFrame, encodeServerFrame } from "./encode.ts";
import { V2DecodeError, V2EncodeError } from "./errors.ts";
import type { V2ClientFrame, V2ServerFrame } from "./frames.ts";
import { fromHex, toHex } from "./hex.ts";

interface Vector {
  name: string;
  direction: "client" | "server";
  hex: string;
  actCount?: number;
  frame?: unknown;
  reason?: string;
  error?: string;
}
const file = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url), "utf8")) as {
  subprotocol: string;
  valid: Vector[];
  decodeOnly: Vector[];
  invalid: Vector[];
};

const decode = (v: Vector): unknown =>
  v.direction === "client" ? decodeClientFrame(fromHex(v.hex)) : decodeServerFrame(fromHex(v.hex), v.actCount);

test("vectors.json names the subprotocol and covers every frame type in both directions", () => {
  assert.equal(file.subprotocol, V2_SUBPROTOCOL);
  const types = new Set(file.valid.map((v) => `${v.direction}:${(v.frame as { type: string }).type}`));
  for (const t of ["hello", "buzz", "keyframe_request"]) assert.ok(types.has(`client:${t}`), t);
  for (const t of ["welcome", "keyframe", "delta", "stage", "show", "ack", "error"]) assert.ok(types.has(`server:${t}`), t);
  const hexes = file.valid.map((v) => v.hex).join();
  for (const edge of ["7f", "8001", "ffffffffffffff0f"]) assert.ok(hexes.includes(edge), edge);
});

test("valid vectors: encode(frame) == hex, decode(hex) == frame", () => {
  for (const v of file.valid) {
    const bytes = v.direction === "client" ? encodeClientFrame(v.frame as V2ClientFrame) : encodeServerFrame(v.frame as V2ServerFrame);
    assert.equal(toHex(bytes), v.hex, v.name);
    assert.deepEqual(decode(v), v.frame, v.name);
  }
});

test("decode-only vectors: forward-compatible input decodes to the documented frame", () => {
  for (const v of file.decodeOnly) {
    assert.deepEqual(decode(v), v.frame, v.name);
    let canonical: string | null = null; // null: no encoding at all (an ack with reasons the encoder cannot name)
    try {
      canonical = toHex(
        v.direction === "client" ? encodeClientFrame(v.frame as V2ClientFrame) : encodeServerFrame(v.frame as V2ServerFrame),
      );
    } catch (e) {
      assert.ok(e instanceof V2EncodeError, `${v.name}: ${String(e)}`);
    }
    assert.notEqual(canonical, v.hex, `${v.name}: should not be canonical, else it belongs in valid`);
  }
});

test("invalid vectors: V2DecodeError with code bad_frame and the documented reason", () => {
  assert.ok(file.invalid.length >= 20);
  for (const v of file.invalid) {
    assert.throws(
      () => decode(v),
      (e: unknown) => {
        assert.ok(e instanceof V2DecodeError, `${v.name}: ${String(e)}`);
        assert.equal(e.code, v.error, v.name);
        assert.equal(e.reason, v.reason, v.name);
        return true;
      },
      v.name,
    );
  }
});
