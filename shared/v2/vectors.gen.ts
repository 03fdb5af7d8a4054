/**
 * Writes shared/v2/vectors.json: `node --import tsx shared/v2/vectors.gen.ts && npx prettier --write shared/v2/vectors.json`. The valid vectors'
 * bytes come from the encoder, so review the diff of vectors.json when this changes: a changed
 * hex string is a wire-format change. vectors.test.ts checks the committed file, byte for byte.
 */
import { writeFileSync } from "node:fs";
import { V2_SUBPROTOCOL } from "./constants.ts";
import { encodeClientFrame, encodeServerFrame } from "./encode.ts";
import type { V2ClientFrame, V2ServerFrame } from "./frames.ts";
import { toHex } from "./hex.ts";

const MAX = Number.MAX_SAFE_INTEGER;

const client: Array<[string, V2ClientFrame]> = [
  ["hello without viewer", { type: "hello", show: "demo" }],
  ["hello with viewer", { type: "hello", show: "demo", viewer: "v-1" }],
  ["hello with non-ASCII viewer", { type: "hello", show: "gala_2025", viewer: "ünï 🐝" }],
  ["hello with viewer and token", { type: "hello", show: "demo", viewer: "v-1", token: "eyJ.a.b" }],
  ["hello with token, no viewer", { type: "hello", show: "demo", token: "t" }],
  ["buzz: zeros", { type: "buzz", act: 0, seq: 0 }],
  ["buzz: 127 and 128", { type: "buzz", act: 127, seq: 128 }],
  ["buzz: seq 2^53-1", { type: "buzz", act: 3, seq: MAX }],
  ["keyframe request", { type: "keyframe_request" }],
];

const server: Array<[string, V2ServerFrame, number?]> = [
  [
    "welcome",
    {
      type: "welcome",
      show: {
        id: "demo",
        title: "Demo",
        acts: [
          { id: "a", name: "A" },
          { id: "b", name: "Bee" },
        ],
      },
      epoch: "e1",
      epochId: 1,
      seq: 7,
      tickMs: 100,
      policy: "once",
      stage: { act: 1, open: true },
      totals: [0, 127],
    },
  ],
  [
    "welcome: with watching (extension tag 1)",
    {
      type: "welcome",
      show: { id: "demo", title: "Demo", acts: [{ id: "a", name: "A" }] },
      epoch: "e1",
      epochId: 1,
      seq: 7,
      tickMs: 100,
      policy: "unlimited",
      stage: { act: 0, open: false },
      totals: [5],
      watching: 10000,
    },
  ],
  [
    "welcome: no policy, nothing on stage, no acts",
    {
      type: "welcome",
      show: { id: "empty", title: "É", acts: [] },
      epoch: "",
      epochId: 0,
      seq: 0,
      tickMs: 1,
      stage: { act: null, open: false },
      totals: [],
    },
  ],
  ["keyframe: zeros, no acts", { type: "keyframe", epochId: 0, seq: 0, ts: 0, totals: [] }, 0],
  [
    "keyframe: edge values",
    { type: "keyframe", epochId: 4294967295, seq: 128, ts: 1712345678901, totals: [0, 127, 128, 16383, 16384, MAX] },
    6,
  ],
  ["keyframe: with tickMs and watching", { type: "keyframe", epochId: 5, seq: 9, ts: 1000, totals: [1, 2], tickMs: 100, watching: 300 }, 2],
  [
    "delta: one act changed (10-act show)",
    { type: "delta", epochId: 3735928559, seq: 123457, ts: 1712345678901, changes: [[9, 1234567]] },
    10,
  ],
  ["delta: nothing changed (heartbeat)", { type: "delta", epochId: 1, seq: 2, ts: 3, changes: [] }, 10],
  [
    "delta: several acts, watching",
    {
      type: "delta",
      epochId: 1,
      seq: 3,
      ts: 4,
      changes: [
        [0, 1],
        [5, 128],
        [9, MAX],
      ],
      watching: 10000,
    },
    10,
  ],
  ["stage: act 2 open", { type: "stage", act: 2, open: true }, 3],
  ["stage: act 0 closed", { type: "stage", act: 0, open: false }, 3],
  ["stage: empty", { type: "stage", act: null, open: false }, 3],
  [
    "show",
    { type: "show", show: { id: "demo", title: "Demo 2", acts: [{ id: "b", name: "Bee" }] }, epoch: "lz3k9a0-abc123", epochId: 2166136261 },
  ],
  ["ack: counted only", { type: "ack", seq: 1, counted: 1, rejected: {}, last: "counted" }],
  ["ack: with rejections", { type: "ack", seq: 300, counted: 290, rejected: { duplicate: 2, out_of_order: 8 }, last: "out_of_order" }],
  ["ack: edge values", { type: "ack", seq: MAX, counted: MAX, rejected: { voting_closed: 128 }, last: "voting_closed" }],
  ["error: bad_frame", { type: "error", close: 4000, message: "bad v2 frame" }],
  ["error: draining, empty message", { type: "error", close: 1001, message: "" }],
  ["error: draining with retryAfterMs 1500", { type: "error", close: 1001, message: "bye", retryAfterMs: 1500 }],
];

/** Bytes that decode, but not to their own canonical encoding: forward-compatible input. */
const decodeOnly = [
  {
    name: "buzz with an unknown extension (skipped)",
    direction: "client",
    hex: "02 01 02 07 02 aa bb",
    frame: { type: "buzz", act: 1, seq: 2 },
  },
  {
    name: "hello: token, then an unknown extension tag 2 (skipped)",
    direction: "client",
    hex: "01 00 04 64 65 6d 6f 01 01 74 02 01 00",
    frame: { type: "hello", show: "demo", token: "t" },
  },
  {
    name: "delta with an unknown extension tag 3 (skipped)",
    direction: "server",
    actCount: 10,
    hex: "12 01 02 03 01 04 05 03 01 00",
    frame: { type: "delta", epochId: 1, seq: 2, ts: 3, changes: [[4, 5]] },
  },
  {
    name: "keyframe: tickMs, then unknown tag 9",
    direction: "server",
    actCount: 1,
    hex: "11 01 02 03 01 2a 01 01 64 09 02 ff ff",
    frame: { type: "keyframe", epochId: 1, seq: 2, ts: 3, totals: [42], tickMs: 100 },
  },
  {
    name: "ack with explicit zero counts",
    direction: "server",
    hex: "15 01 01 05 00 00 00 00 00 00",
    frame: { type: "ack", seq: 1, counted: 1, rejected: {}, last: "counted" },
  },
  {
    name: "ack with counts of 2 future reasons (summed in rejectedOther)",
    direction: "server",
    hex: "15 01 00 07 00 01 00 00 00 05 06 02",
    frame: { type: "ack", seq: 1, counted: 0, rejected: { duplicate: 1 }, rejectedOther: 11, last: "duplicate" },
  },
  {
    name: "ack: unknown last outcome (reads as rejected_other)",
    direction: "server",
    hex: "15 01 00 00 06",
    frame: { type: "ack", seq: 1, counted: 0, rejected: {}, last: "rejected_other" },
  },
  {
    name: "ack from a newer server: its reason index 9 is last and counted twice",
    direction: "server",
    hex: "15 02 01 0a 00 01 00 00 00 00 00 00 00 02 0a",
    frame: { type: "ack", seq: 2, counted: 1, rejected: { duplicate: 1 }, rejectedOther: 2, last: "rejected_other" },
  },
];

const invalid: Array<{ name: string; direction: "client" | "server"; hex: string; reason: string; actCount?: number }> = [
  { name: "empty frame", direction: "client", hex: "", reason: "empty" },
  { name: "empty frame", direction: "server", hex: "", reason: "empty" },
  { name: "server type sent by a client", direction: "client", hex: "10", reason: "unknown_type" },
  { name: "client type sent by the server", direction: "server", hex: "02 01 01", reason: "unknown_type" },
  { name: "type 0xff", direction: "server", hex: "ff", reason: "unknown_type" },
  { name: "buzz without fields", direction: "client", hex: "02", reason: "truncated" },
  { name: "buzz without seq", direction: "client", hex: "02 01", reason: "truncated" },
  { name: "varint cut after a continuation byte", direction: "client", hex: "02 01 80", reason: "truncated" },
  { name: "non-minimal varint (0 as 80 00)", direction: "client", hex: "02 80 00 01", reason: "overlong_varint" },
  { name: "9-byte varint", direction: "client", hex: "02 01 ff ff ff ff ff ff ff ff 01", reason: "overlong_varint" },
  { name: "varint 2^53 (above safe integers)", direction: "client", hex: "02 01 80 80 80 80 80 80 80 10", reason: "unsafe_integer" },
  { name: "trailing zero byte after buzz", direction: "client", hex: "02 01 01 00", reason: "trailing_bytes" },
  { name: "trailing zero byte after keyframe request", direction: "client", hex: "03 00", reason: "trailing_bytes" },
  { name: "extension longer than the frame", direction: "client", hex: "02 01 01 05 03 01", reason: "truncated" },
  { name: "extension tags not increasing", direction: "server", actCount: 1, hex: "12 01 02 03 00 02 01 01 01 01 01", reason: "bad_order" },
  {
    name: "known extension whose length does not match",
    direction: "server",
    actCount: 1,
    hex: "12 01 02 03 00 01 02 05 00",
    reason: "bad_value",
  },
  { name: "hello: reserved flag bit", direction: "client", hex: "01 02 04 64 65 6d 6f", reason: "bad_value" },
  { name: "hello: show id with a space", direction: "client", hex: "01 00 03 61 20 62", reason: "bad_value" },
  { name: "hello: show id not UTF-8", direction: "client", hex: "01 00 02 c3 28", reason: "bad_utf8" },
  { name: "hello: string longer than the frame", direction: "client", hex: "01 00 09 64 65 6d 6f", reason: "truncated" },
  { name: "hello: empty token", direction: "client", hex: "01 00 04 64 65 6d 6f 01 00", reason: "bad_value" },
  { name: "hello: token not UTF-8", direction: "client", hex: "01 00 04 64 65 6d 6f 01 02 c3 28", reason: "bad_utf8" },
  { name: "hello: token longer than the frame", direction: "client", hex: "01 00 04 64 65 6d 6f 01 05 74", reason: "truncated" },
  { name: "delta: index == act count", direction: "server", actCount: 10, hex: "12 01 02 03 01 0a 05", reason: "index_out_of_range" },
  { name: "delta: indices not increasing", direction: "server", actCount: 10, hex: "12 01 02 03 02 03 01 01 01", reason: "bad_order" },
  { name: "delta: count larger than the frame", direction: "server", hex: "12 01 02 03 ff ff ff ff ff ff ff 0f", reason: "truncated" },
  { name: "keyframe: 3 totals for 2 acts", direction: "server", actCount: 2, hex: "11 01 02 03 03 00 00 00", reason: "index_out_of_range" },
  { name: "stage: act beyond the table", direction: "server", actCount: 2, hex: "13 03 02", reason: "index_out_of_range" },
  { name: "stage: reserved flag bit", direction: "server", hex: "13 04", reason: "bad_value" },
  {
    name: "welcome: stage act beyond its own table",
    direction: "server",
    hex: "10 01 64 01 54 01 01 61 01 41 00 00 00 64 00 03 05 00",
    reason: "index_out_of_range",
  },
  { name: "welcome: tickMs 0", direction: "server", hex: "10 01 64 01 54 00 00 00 00 00 00 00", reason: "bad_value" },
  { name: "welcome: unknown policy 3", direction: "server", hex: "10 01 64 01 54 00 00 00 00 64 03 00", reason: "bad_value" },
  {
    name: "welcome: cut inside the totals",
    direction: "server",
    hex: "10 01 64 01 54 01 01 61 01 41 00 00 00 64 00 00",
    reason: "truncated",
  },
  { name: "show: empty act name", direction: "server", hex: "14 01 64 01 54 01 01 61 00 00 00", reason: "bad_value" },
  {
    name: "ack: counts of unknown reasons summing past 2^53",
    direction: "server",
    hex: "15 01 00 07 00 00 00 00 00 ff ff ff ff ff ff ff 0f 01 00",
    reason: "bad_value",
  },
];

const vectors = {
  description:
    "Protocol v2 test vectors: see docs/protocol-v2.md. `valid`: encode(frame) == hex and decode(hex) == frame. " +
    "`decodeOnly`: decode(hex) == frame (the canonical encoding of frame differs, or there is none: an ack naming reasons " +
    "the decoder does not know, read as rejectedOther / rejected_other). `invalid`: decoding hex fails with close name `error` " +
    "(always bad_frame) and, informatively, `reason`. `actCount`: the act table size the decoder is given, when it matters. Hex has no separators.",
  subprotocol: V2_SUBPROTOCOL,
  valid: [
    ...client.map(([name, frame]) => ({ name, direction: "client", frame, hex: toHex(encodeClientFrame(frame)) })),
    ...server.map(([name, frame, actCount]) => ({
      name,
      direction: "server",
      ...(actCount !== undefined ? { actCount } : {}),
      frame,
      hex: toHex(encodeServerFrame(frame)),
    })),
  ],
  decodeOnly: decodeOnly.map((v) => ({ ...v, hex: v.hex.replace(/ /g, "") })),
  invalid: invalid.map((v) => ({ ...v, hex: v.hex.replace(/ /g, ""), error: "bad_frame" })),
};

writeFileSync(new URL("./vectors.json", import.meta.url), JSON.stringify(vectors, null, 1) + "\n");
console.log(`wrote ${vectors.valid.length} valid, ${vectors.decodeOnly.length} decode-only, ${vectors.invalid.length} invalid vectors`);
