import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameParser, type FrameSink } from "./frame-parser.ts";

/** Builds an unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (n >= 126 && n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

function collector() {
  const texts: string[] = [];
  const closes: Array<[number, string]> = [];
  const pings: string[] = [];
  const errors: string[] = [];
  const sink: FrameSink = {
    onText: (d, s, e) => texts.push(d.toString("utf8", s, e)),
    onClose: (c, r) => closes.push([c, r]),
    onPing: (p) => pings.push(p.toString()),
    onProtocolError: (m) => errors.push(m),
  };
  return { sink, texts, closes, pings, errors };
}

const closePayload = (code: number, reason: string) => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
};

test("parses every length class whole, and fed one byte at a time", () => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = "x".repeat(len);
    const frame = serverFrame(1, Buffer.from(text));
    const whole = collector();
    new FrameParser(whole.sink).feed(frame);
    assert.deepEqual(whole.texts, [text], `whole, length ${len}`);
    if (len <= 70000) {
      const bytewise = collector();
      const p = new FrameParser(bytewise.sink);
      // Feed through a reused buffer, as the shared read buffer is reused between reads.
      const shared = Buffer.alloc(1);
      for (let i = 0; i < frame.length; i++) {
        shared[0] = frame[i]!;
        p.feed(shared, 0, 1);
      }
      assert.equal(bytewise.texts.length, 1, `bytewise, length ${len}`);
      assert.equal(bytewise.texts[0], text);
    }
  }
});

test("many frames in one chunk, split at every possible boundary", () => {
  const frames = Buffer.concat([
    serverFrame(1, Buffer.from('{"a":1}')),
    serverFrame(9, Buffer.from("pp")),
    serverFrame(1, Buffer.from("y".repeat(300))),
    serverFrame(1, Buffer.from("")),
    serverFrame(8, closePayload(4002, "bye")),
  ]);
  for (let cut = 0; cut <= frames.length; cut++) {
    const c = collector();
    const p = new FrameParser(c.sink);
    const scratch = Buffer.alloc(frames.length);
    frames.copy(scratch, 0, 0, cut);
    p.feed(scratch, 0, cut);
    scratch.fill(0); // the first chunk's bytes must have been copied if still needed
    frames.copy(scratch, 0, cut);
    p.feed(scratch, 0, frames.length - cut);
    assert.deepEqual(c.texts, ['{"a":1}', "y".repeat(300), ""], `cut at ${cut}`);
    assert.deepEqual(c.pings, ["pp"]);
    assert.deepEqual(c.closes, [[4002, "bye"]]);
    assert.deepEqual(c.errors, []);
  }
});

test("reassembles fragmented messages with a control frame in between", () => {
  const c = collector();
  const p = new FrameParser(c.sink);
  p.feed(
    Buffer.concat([
      serverFrame(1, Buffer.from("hel"), false),
      serverFrame(9, Buffer.from("")),
      serverFrame(0, Buffer.from("lo "), false),
      serverFrame(0, Buffer.from("world"), true),
    ]),
  );
  assert.deepEqual(c.texts, ["hello world"]);
  assert.deepEqual(c.pings, [""]);
});

test("close without a status code reports 1005", () => {
  const c = collector();
  new FrameParser(c.sink).feed(serverFrame(8, Buffer.alloc(0)));
  assert.deepEqual(c.closes, [[1005, ""]]);
});

test("protocol errors: stray continuation, binary, oversized, reserved bits, long control frame", () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ["continuation", serverFrame(0, Buffer.from("x")), /continuation/],
    ["binary", serverFrame(2, Buffer.from("x")), /binary/],
    ["oversized", serverFrame(1, Buffer.alloc(2000)), /exceeds/],
    ["rsv", Buffer.from([0xc1, 0x00]), /reserved/],
    ["long ping", serverFrame(9, Buffer.alloc(126)), /control frame/],
  ];
  for (const [name, bytes, re] of cases) {
    const c = collector();
    const p = new FrameParser(c.sink, 1024);
    p.feed(bytes);
    p.feed(serverFrame(1, Buffer.from("after"))); // ignored after an error
    assert.equal(c.errors.length, 1, name);
    assert.match(c.errors[0]!, re, name);
    assert.deepEqual(c.texts, [], name);
  }
});
