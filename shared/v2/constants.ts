/**
 * Protocol v2 constants: the subprotocol name, frame type bytes, extension tags and fixed orders.
 * Everything here is part of the wire format (docs/protocol-v2.md): values are never renumbered,
 * only appended. Zod-free and Node-free: browsers and React Native import this file.
 */
import type { RejectReason } from "../codes.ts";

/** WebSocket subprotocol a client offers (Sec-WebSocket-Protocol) to speak v2. */
export const V2_SUBPROTOCOL = "buzzcast.v2";

/** First byte of every frame. Client frames are 0x01-0x0F, server frames 0x10-0x1F: a frame sent
 *  in the wrong direction is an unknown type for the receiving decoder. */
export const FRAME = {
  hello: 0x01,
  buzz: 0x02,
  keyframe_request: 0x03,
  welcome: 0x10,
  keyframe: 0x11,
  delta: 0x12,
  stage: 0x13,
  show: 0x14,
  ack: 0x15,
  error: 0x16,
} as const;
export type FrameName = keyof typeof FRAME;

/** Extension tags of totals frames (keyframe and delta). Tag 0 is never valid. */
export const TOTALS_EXT = { tickMs: 1, watching: 2 } as const;
/** Extension tags of the error frame: `retryAfterMs` (varint, ms) tells the client when to come back. */
export const ERROR_EXT = { retryAfterMs: 1 } as const;
/** Extension tags of the hello frame. `token` (a signed viewer token) is text: UTF-8 bytes. */
export const HELLO_EXT = { token: 1 } as const;
/** Extension tags of the welcome frame: `watching` (varint), the audience size when the server knows it. */
export const WELCOME_EXT = { watching: 1 } as const;

/** The server sends a keyframe at least this often (and whenever the act table or epoch changes). */
export const KEYFRAME_INTERVAL_MS = 1000;

/** Largest unsigned integer a varint may carry (2^53 - 1), and the most bytes it may take. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;
export const MAX_VARINT_BYTES = 8;

/**
 * Order of the per-reason rejected counts in an ack, and of `last` (0 = counted, i + 1 = this list's
 * i-th reason). Frozen here, not taken from codes.ts's key order, so a reordering there cannot change
 * the wire; a new reason is appended (v2.test.ts fails until it is).
 */
export const V2_REJECT_ORDER = [
  "voting_closed",
  "duplicate",
  "rate_limited",
  "unknown_act",
  "out_of_order",
] as const satisfies readonly RejectReason[];

/** Welcome `policy` byte. */
export const POLICY_CODES = [undefined, "once", "unlimited"] as const;

/** Stage flags byte (welcome and stage frames). Other bits are reserved and must be zero. */
export const STAGE_OPEN = 0x01;
export const STAGE_HAS_ACT = 0x02;
/** Hello flags byte. */
export const HELLO_HAS_VIEWER = 0x01;

/** Ids (show, act) as in v1: 1-64 of A-Z a-z 0-9 _ - */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
