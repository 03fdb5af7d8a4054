/**
 * Protocol v1 frames as plain TypeScript types, for the client library and its package
 * (@buzzcast/client). shared/protocol.ts stays the one definition of every frame (zod schemas the
 * server validates with); these types mirror it without zod, so the published `.d.ts` files and a
 * bundle of the library never reach for zod. test/sdk-package.test.ts checks at compile time that
 * each type here and its zod-inferred twin are assignable both ways: a field added on one side and
 * not the other fails `tsc --noEmit`.
 */
import type { AckLast, CloseName, PROTOCOL_VERSION, RejectReason } from "../../shared/codes.ts";

export interface Act {
  id: string;
  name: string;
}

export interface ShowInfo {
  id: string;
  title: string;
  acts: Act[];
}

export interface Stage {
  act: string | null;
  open: boolean;
}

/** A stage change scheduled on the show clock: it takes effect at `at` (ms since 1970) on every node. */
export interface ScheduledStage extends Stage {
  at: number;
}

/** act id -> total buzzes counted in the current epoch. */
export type Totals = Record<string, number>;

// ---------------------------------------------------------------- client -> server

export interface Hello {
  type: "hello";
  protocol: number;
  show: string;
  viewer?: string | undefined;
  /** Signed viewer token (JWT); required when the server verifies viewer tokens. */
  token?: string | undefined;
}

export interface Buzz {
  type: "buzz";
  act: string;
  seq: number;
}

export type ClientMessage = Hello | Buzz;

// ---------------------------------------------------------------- server -> client

/** The snapshot: the connection is subscribed to the show before it is taken, so no update is missed. */
export interface Welcome {
  type: "welcome";
  protocol: typeof PROTOCOL_VERSION;
  show: ShowInfo;
  stage: Stage;
  tickMs: number;
  epoch: string;
  seq: number;
  totals: Totals;
  /** Buzz policy in force: "once" (one counted buzz per viewer per act) or "unlimited". */
  policy?: "once" | "unlimited" | undefined;
  /** A stage change scheduled for later (as in the `stage` frame). */
  next?: ScheduledStage | undefined;
  /** Viewers of the show, fleet-wide, as in the last totals frame (absent before the first). */
  watching?: number | undefined;
}

/**
 * One per show per tick in which a total (or the audience) changed, and at least one a second
 * otherwise; complete totals. `ts`: the aligned tick instant. `tickMs`: the effective period.
 * `watching`: viewers of the show, fleet-wide. Both absent from older servers.
 */
export interface TotalsFrame {
  type: "totals";
  show: string;
  epoch: string;
  seq: number;
  ts: number;
  totals: Totals;
  tickMs?: number | undefined;
  watching?: number | undefined;
}

/** The stage now; `next`: the change scheduled for later (absent: none pending; a later frame without it cancels it). */
export interface StageFrame {
  type: "stage";
  act: string | null;
  open: boolean;
  next?: ScheduledStage | undefined;
}

/** The whole show, after an edit or a reset (new epoch). */
export interface ShowFrame {
  type: "show";
  show: ShowInfo;
  epoch: string;
}

export type RejectCounts = Partial<Record<RejectReason, number>>;

/**
 * Cumulative acknowledgement: every buzz with seq <= `seq` has been processed; since the connection
 * opened, `counted` of them counted and `rejected[reason]` did not. `last` is the outcome of buzz `seq`.
 */
export interface Ack {
  type: "ack";
  seq: number;
  counted: number;
  rejected: RejectCounts;
  /**
   * Not on the wire: the sum of the counts of reasons this client does not know (a newer server's),
   * absent when zero. `last` naming such a reason reads as "rejected_other". Never an error.
   */
  rejectedOther?: number;
  last: AckLast;
}

/** Sent just before a close the client caused (or a drain). `code` is a key of CLOSE. */
export interface ErrorFrame {
  type: "error";
  code: CloseName | (string & {});
  message: string;
  /** A paced drain: reconnect after exactly this many ms (instead of the rule's jitter). */
  retryAfterMs?: number | undefined;
}

export type ServerMessage = Welcome | TotalsFrame | StageFrame | ShowFrame | Ack | ErrorFrame;
