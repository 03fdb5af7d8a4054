import assert from "node:assert/strict";
import { test } from "node:test";
import { Buzz } from "../../shared/protocol.ts";
import { decodeClientFrame } from "../../shared/v2/index.ts";
import { BuzzFrames, SEQ_BASE } from "./buzz-frames.ts";
import { socketioDialect, wsDialect } from "./dialect.ts";

/** Unmasks client frames the way a server does (RFC 6455 5.3); short frames only. */
function unmaskAll(buf: Buffer, first = 0x81): string[] {
  return unmaskBytes(buf, first).map((b) => b.toString());
}
function unmaskBytes(buf: Buffer, first: number): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < buf.length) {
    assert.equal(buf[p]!, first, "FIN + opcode");
    const b1 = buf[p + 1]!;
    assert.ok(b1 & 0x80, "masked");
    const len = b1 & 0x7f;
    assert.ok(len < 126);
    const mask = buf.subarray(p + 2, p + 6);
    const payload = Buffer.alloc(len);
    for (let i = 0; i < len; i++) payload[i] = buf[p + 6 + i]! ^ mask[i & 3]!;
    out.push(payload);
    p += 6 + len;
  }
  return out;
}

test("frames carry valid Buzz messages with consecutive seqs, refilled in place", () => {
  const frames = new BuzzFrames(wsDialect, "act-1", 8);
  for (const first of [SEQ_BASE, SEQ_BASE + 9_999, 9_999_999_990]) {
    const texts = unmaskAll(frames.fill(first, 8));
    assert.equal(texts.length, 8);
    texts.forEach((t, i) => assert.deepEqual(Buzz.parse(JSON.parse(t)), { type: "buzz", act: "act-1", seq: first + i }));
  }
  assert.equal(unmaskAll(frames.fill(SEQ_BASE + 5, 3)).length, 3);
  assert.throws(() => frames.fill(SEQ_BASE, 9), RangeError);
  assert.throws(() => frames.fill(1, 1), RangeError);
});

test("socket.io framing wraps the same message as an event", () => {
  const frames = new BuzzFrames(socketioDialect, "act-2", 2);
  const [a, b] = unmaskAll(frames.fill(SEQ_BASE + 1, 2));
  assert.equal(a, `42["buzz",{"type":"buzz","act":"act-2","seq":${SEQ_BASE + 1}}]`);
  const [name, msg] = JSON.parse(b!.slice(2)) as [string, unknown];
  assert.equal(name, "buzz");
  assert.deepEqual(Buzz.parse(msg), { type: "buzz", act: "act-2", seq: SEQ_BASE + 2 });
});

test("protocol v2: binary buzz frames naming the act by index, seqs as 5-byte varints, decoded by the shared codec", () => {
  const frames = new BuzzFrames(socketioDialect, "ignored", 4, 9);
  for (const first of [SEQ_BASE, SEQ_BASE + 127, 9_999_999_996]) {
    const payloads = unmaskBytes(frames.fill(first, 4), 0x82);
    assert.deepEqual(
      payloads.map((p) => decodeClientFrame(p)),
      [0, 1, 2, 3].map((i) => ({ type: "buzz", act: 9, seq: first + i })),
    );
    assert.ok(payloads.every((p) => p.length === 7));
  }
});
