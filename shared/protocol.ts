/**
 * Protocol v1: JSON text frames on ws://HOST:PORT/ws. This file is the only definition of every
 * frame; server, client library, pages and bench import it. Names and fields here are fixed for v1:
 * fields and message types may be added, never renamed. Documented in docs/protocol.md.
 */
import { z } from "zod";
import { readAckReasons } from "./ack-reasons.ts";
import { PROTOCOL_VERSION, REJECT_REASONS, type CloseName, type RejectReason } from "./codes.ts";
import { viewerIdProblem } from "./viewer-id.ts";

/** The zod-free constants live in codes.ts (a browser bundle imports them without zod). */
export { MAX_FRAME_BYTES, PROTOCOL_VERSION, WS_PATH } from "./codes.ts";

/** Show and act ids: short, URL- and key-safe (they become memcached keys and URL segments). */
export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "ids are 1-64 of A-Z a-z 0-9 _ -");
/**
 * Opaque viewer id chosen by the client: a random UUID generated once and persisted on the device.
 * Well-formed Unicode, no control characters, no white space at either end (viewer-id.ts).
 */
export const ViewerId = z.string().superRefine((v, ctx) => {
  const problem = viewerIdProblem(v);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});
export const Seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const Count = z.number().int().nonnegative();

export const Act = z.object({ id: Id, name: z.string().min(1).max(200) });
export type Act = z.infer<typeof Act>;

export const ShowInfo = z.object({ id: Id, title: z.string().min(1).max(200), acts: z.array(Act).max(100) });
export type ShowInfo = z.infer<typeof ShowInfo>;

export const Stage = z.object({ act: Id.nullable(), open: z.boolean() });
export type Stage = z.infer<typeof Stage>;

/** A stage change scheduled on the show clock: it takes effect at `at` (ms since 1970, a multiple of `tickMs`) on every node. */
export const ScheduledStage = Stage.extend({ at: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
export type ScheduledStage = z.infer<typeof ScheduledStage>;

/** act id -> total buzzes counted in the current epoch. */
export const Totals = z.record(z.string(), Count);
export type Totals = z.infer<typeof Totals>;

// ---------------------------------------------------------------- client -> server

export const Hello = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  show: Id,
  viewer: ViewerId.optional(),
  /** Signed viewer token (JWT, HS256); required when the server sets VIEWER_TOKEN_SECRET, whose
   *  `sub` then replaces `viewer` (docs/viewer-tokens.md). */
  token: z.string().min(1).max(1024).optional(),
});
export type Hello = z.infer<typeof Hello>;

export const Buzz = z.object({ type: z.literal("buzz"), act: Id, seq: Seq });
export type Buzz = z.infer<typeof Buzz>;

export const ClientMessage = z.discriminatedUnion("type", [Hello, Buzz]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---------------------------------------------------------------- server -> client

/** The snapshot. The connection is subscribed to the show before it is taken: no update is missed. */
export const Welcome = z.object({
  type: z.literal("welcome"),
  protocol: z.literal(PROTOCOL_VERSION),
  show: ShowInfo,
  stage: Stage,
  tickMs: z.number().int().positive(),
  epoch: z.string(),
  seq: Seq,
  totals: Totals,
  /** Buzz policy in force: "once" (one counted buzz per viewer per act) or "unlimited". */
  policy: z.enum(["once", "unlimited"]).optional(),
  /** A stage change scheduled for later (as in the `stage` frame). */
  next: ScheduledStage.optional(),
  /** Viewers of the show, fleet-wide, as in the last totals frame (absent before the first). */
  watching: Count.optional(),
});
export type Welcome = z.infer<typeof Welcome>;

/**
 * One per show per tick in which a total (or the audience) changed, and at least one in every
 * 1,000 ms window otherwise. Complete totals: one entry per act of the show as it is now.
 * `ts` is the aligned tick instant (a multiple of the welcome's tickMs, the same on every server
 * process for the same tick). `tickMs`: the effective period (larger than the welcome's while the
 * server is overloaded). `watching`: viewers of the show, fleet-wide. Both absent from older servers.
 */
export const TotalsFrame = z.object({
  type: z.literal("totals"),
  show: Id,
  epoch: z.string(),
  seq: Seq,
  ts: z.number(),
  totals: Totals,
  tickMs: z.number().int().positive().optional(),
  watching: Count.optional(),
});
export type TotalsFrame = z.infer<typeof TotalsFrame>;

/** The stage now; `next`: the change scheduled for later (absent: none pending; a later frame without it cancels it). */
export const StageFrame = z.object({ type: z.literal("stage"), act: Id.nullable(), open: z.boolean(), next: ScheduledStage.optional() });
export type StageFrame = z.infer<typeof StageFrame>;

/** Sent when the producer edits the show's title or acts, or resets it (new epoch). `show` is the whole show. */
export const ShowFrame = z.object({ type: z.literal("show"), show: ShowInfo, epoch: z.string() });
export type ShowFrame = z.infer<typeof ShowFrame>;

export const RejectCounts = z.partialRecord(z.enum(REJECT_REASONS as [RejectReason, ...RejectReason[]]), Count);
export type RejectCounts = z.infer<typeof RejectCounts>;

/**
 * Cumulative acknowledgement for this connection, at most one per tick.
 * Every buzz with seq <= `seq` has been processed; since the connection opened, `counted` of them
 * counted and `rejected[reason]` did not. `last` is the outcome of the buzz numbered `seq`.
 * Because it is cumulative, a lost or merged ack loses nothing: the next one carries the sums.
 *
 * A server sends only reasons of REJECT (and `last` is "counted" or one of them). A receiver reads
 * any other reason name as "not counted, for a reason it cannot name" (ack-reasons.ts): its count goes
 * to `rejectedOther` (never sent; absent when zero) and such a `last` reads as "rejected_other". So a
 * newer server's reasons neither fail the frame nor break the cumulative sums.
 */
export const Ack = z
  .object({
    type: z.literal("ack"),
    seq: Seq,
    counted: Count,
    rejected: z.record(z.string(), Count),
    last: z.string().min(1),
  })
  .transform(({ type, seq, counted, rejected, last }) => ({ type, seq, counted, ...readAckReasons(rejected, last) }));
export type Ack = z.output<typeof Ack>;

/**
 * Sent just before a close that the client caused (or a drain). `code` is a key of CLOSE.
 * `retryAfterMs` (a drain): reconnect after exactly this long instead of the rule's own jitter.
 */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  retryAfterMs: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrame> & { code: CloseName | (string & {}) };

export const ServerMessage = z.discriminatedUnion("type", [Welcome, TotalsFrame, StageFrame, ShowFrame, Ack, ErrorFrame]);
export type ServerMessage = z.infer<typeof ServerMessage>;

// ---------------------------------------------------------------- admin HTTP API bodies

export const PutShowBody = z.object({ title: z.string().min(1).max(200), acts: z.array(Act).min(1).max(100) });
export type PutShowBody = z.infer<typeof PutShowBody>;

/**
 * `at` (optional, ms since 1970, in the future): apply the change at that instant on every node
 * instead of now; rounded up to the next multiple of TICK_MS (the answer's `next.at` is the
 * effective instant). Without `at` the change is immediate and cancels any scheduled one.
 */
export const StageBody = Stage.extend({ at: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() });
export type StageBody = z.infer<typeof StageBody>;

/** GET /api/shows/:show */
export const ShowState = z.object({
  show: ShowInfo,
  stage: Stage,
  epoch: z.string(),
  /** The show's version: every admin change is a compare-and-swap on it (a lost race is a 409 conflict). */
  version: z.number().int().nonnegative().optional(),
  seq: Seq,
  /** Live totals (what clients see). */
  totals: Totals,
  /** Totals in the durable record (lag the live ones by at most the persist interval). */
  durable: Totals.optional(),
  /** The stage change scheduled for later, if any. */
  next: ScheduledStage.optional(),
  /** Viewers of the show, fleet-wide, as in the last totals frame. */
  watching: Count.optional(),
});
export type ShowState = z.infer<typeof ShowState>;
