import { test } from "node:test";
import assert from "node:assert/strict";
import { Buzz, ClientMessage } from "../../shared/protocol.ts";
import { ActTable } from "../counting/act-table.ts";
import { Tally } from "../counting/tally.ts";
import { fastBuzz } from "./fast-buzz.ts";

const ab = (s: string): ArrayBuffer => {
  const b = Buffer.from(s, "utf8");
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

/** What the fast path makes of a frame, as strings: the act it spells, and the seq. */
function fast(s: string): { act: string; seq: number } | null {
  const f = fastBuzz(ab(s));
  return f && { act: Buffer.from(f.bytes.subarray(f.actStart, f.actStart + f.actLen)).toString("latin1"), seq: f.seq };
}

/** What the general path makes of a frame: the buzz it accepts, or null. */
function general(s: string): { act: string; seq: number } | null {
  try {
    const r = ClientMessage.safeParse(JSON.parse(s));
    return r.success && r.data.type === "buzz" ? { act: r.data.act, seq: r.data.seq } : null;
  } catch {
    return null;
  }
}

test("canonical buzz frames decode to the same act and seq as JSON.parse + zod", () => {
  for (const [act, seq] of [
    ["act-1", 1],
    ["a", 0],
    ["A_b-9", 123456789012345],
    ["x".repeat(64), 42],
  ] as const) {
    const s = JSON.stringify({ type: "buzz", act, seq });
    assert.deepEqual(fast(s), general(s), s);
    assert.ok(Buzz.safeParse({ type: "buzz", act, seq }).success);
  }
});

test("the fast path never accepts what the general path rejects, nor disagrees with it", () => {
  const base = '{"type":"buzz","act":"act-1","seq":17}';
  const candidates = [
    base,
    '{"type":"buzz","act":"","seq":1}',
    `{"type":"buzz","act":"${"x".repeat(65)}","seq":1}`,
    '{"type":"buzz","act":"a b","seq":1}',
    '{"type":"buzz","act":"a","seq":-1}',
    '{"type":"buzz","act":"a","seq":01}',
    '{"type":"buzz","act":"a","seq":1.5}',
    '{"type":"buzz","act":"a","seq":1e3}',
    '{"type":"buzz","act":"a","seq":1} ',
    '{"type":"buzz","act":"a","seq":1}}',
    '{"type":"buzz","act":"a","seq":}',
    '{"type":"buzz","act":"a","seq":1234567890123456}',
    '{"type":"buzz","act":"a","seq":"1"}',
    '{"type":"buzz","seq":1,"act":"a"}',
    '{ "type":"buzz","act":"a","seq":1}',
    '{"type":"buzz","act":"a\\u0062","seq":1}',
    '{"type":"buzz","act":"é","seq":1}',
    '{"type":"buzzz","act":"a","seq":1}',
    '{"type":"buzz","act":"a","seq":1',
    '{"type":"buzz","act":"a"',
    "",
    "{}",
  ];
  // Every single-byte mutation of the canonical frame, too.
  for (let i = 0; i < base.length; i++) {
    for (const c of ['"', "}", "0", "9", "a", " ", "-", ".", "\\", "e"]) candidates.push(base.slice(0, i) + c + base.slice(i + 1));
    candidates.push(base.slice(0, i) + base.slice(i + 1));
  }
  let taken = 0;
  for (const s of candidates) {
    const f = fast(s);
    if (f === null) continue;
    taken++;
    assert.deepEqual(f, general(s), `fast path accepted ${JSON.stringify(s)}`);
  }
  assert.ok(taken > 10, `the fast path took ${taken} of ${candidates.length} candidates`);
});

test("the act bytes of a fast-decoded frame find the same tally slot as the parsed act id", () => {
  const acts = ["act-1", "act-2", "a", "A_b-9", "x".repeat(64), ...Array.from({ length: 95 }, (_, i) => `act-${i + 10}`)];
  const table = new ActTable(acts, new Tally("s", "e"));
  for (const act of [...acts, "act-3", "act", "act-10x", "b", "x".repeat(63), "ACT-1"]) {
    const s = JSON.stringify({ type: "buzz", act, seq: 7 });
    const f = fastBuzz(ab(s));
    assert.ok(f, s);
    const bySlot = table.match(f.bytes, f.actStart, f.actLen);
    const parsed = general(s);
    assert.ok(parsed);
    assert.equal(bySlot, table.get(parsed.act), act);
    assert.equal(bySlot === null, !acts.includes(act), act);
  }
});
