/**
 * Protocol v2 frames as JavaScript values: what the encoders take and the decoders return, and what
 * shared/v2/vectors.json shows beside the bytes. Acts are named by their index in the act table of
 * the last welcome/show frame. docs/protocol-v2.md gives each layout byte by byte.
 */
import type { AckLast, RejectReason } from "../codes.ts";

export interface V2Act {
  id: string;
  name: string;
}
export interface V2ShowInfo {
  id: string;
  title: string;
  /** The act table: index i in later frames is acts[i]. */
  acts: V2Act[];
}
/** `act` is an index into the act table, or null when no act is on stage. */
export interface V2Stage {
  act: number | null;
  open: boolean;
}

// ---------------------------------------------------------------- client -> server

export interface V2Hello {
  type: "hello";
  show: string;
  viewer?: string;
  /** Signed viewer token (v1's hello `token`), opaque to the codec; extension tag 1 (text). */
  token?: string;
}
export interface V2Buzz {
  type: "buzz";
  act: number;
  seq: number;
}
/** "My totals have a gap: send a keyframe soon." */
export interface V2KeyframeRequest {
  type: "keyframe_request";
}
export type V2ClientFrame = V2Hello | V2Buzz | V2KeyframeRequest;

// ---------------------------------------------------------------- server -> client

/** Optional fields of totals frames, carried as extensions (absent = not sent). */
export interface V2TotalsExt {
  /** Effective tick period in ms. */
  tickMs?: number;
  /** Audience size. */
  watching?: number;
}

export interface V2Welcome {
  type: "welcome";
  show: V2ShowInfo;
  epoch: string;
  /** The small number totals frames carry for `epoch` (see epochId()). */
  epochId: number;
  seq: number;
  tickMs: number;
  policy?: "once" | "unlimited";
  stage: V2Stage;
  /** totals[i] is the total of acts[i]; exactly one value per act. */
  totals: number[];
  /** Audience size (extension tag 1), when the server knows it. */
  watching?: number;
}

/** Every act's total, in act-table order. */
export interface V2Keyframe extends V2TotalsExt {
  type: "keyframe";
  epochId: number;
  seq: number;
  /** Server time of the tick, ms since 1970-01-01 UTC. */
  ts: number;
  totals: number[];
}

/** The acts whose totals changed since the frame numbered seq - 1: [index, total] pairs, indices
 *  strictly increasing. */
export interface V2Delta extends V2TotalsExt {
  type: "delta";
  epochId: number;
  seq: number;
  ts: number;
  changes: Array<[number, number]>;
}

export interface V2StageFrame extends V2Stage {
  type: "stage";
}

/** A new act table and/or a new epoch. The next totals frame is a keyframe. */
export interface V2ShowFrame {
  type: "show";
  show: V2ShowInfo;
  epoch: string;
  epochId: number;
}

/**
 * Same meaning as v1's ack: cumulative for the connection. Zero counts are omitted. Reasons the
 * decoder does not know (a newer server's: indices past V2_REJECT_ORDER) are read as in v1
 * (shared/ack-reasons.ts): their counts summed in `rejectedOther`, an unknown `last` code as
 * "rejected_other". An encoder never writes either (a server names every reason it sends).
 */
export interface V2Ack {
  type: "ack";
  seq: number;
  counted: number;
  rejected: Partial<Record<RejectReason, number>>;
  rejectedOther?: number;
  last: AckLast;
}

/** Sent just before a close the client caused; `close` is a numeric code from the CLOSE table. */
export interface V2Error {
  type: "error";
  close: number;
  message: string;
  /** Reconnect after exactly this long (ms; a paced drain); extension tag 1. */
  retryAfterMs?: number;
}

export type V2TotalsFrame = V2Keyframe | V2Delta;
export type V2ServerFrame = V2Welcome | V2Keyframe | V2Delta | V2StageFrame | V2ShowFrame | V2Ack | V2Error;
