/**
 * Act windows on the show clock: the rules for a stage change scheduled at an instant.
 *
 * The show clock is the wall clock (ms since the Unix epoch, NTP-synchronised on every node); the
 * aligned ticks fire at its multiples of TICK_MS, so a scheduled change takes effect at a multiple
 * of TICK_MS: `at` is rounded UP to the next multiple (never earlier than asked) and the effective
 * instant is what the API answers and every node applies.
 *
 * Bounds (checked against the deciding node's clock):
 * - at least `minLeadMs(tickMs)` ahead (500 ms, or 3 ticks when TICK_MS > 166): the change must reach
 *   every node before its instant for the instant to hold fleet-wide (propagation is 1-2 ticks
 *   through memcached); a change that is due sooner is refused (send it without `at`: immediate);
 * - at most MAX_AHEAD_MS (24 h) ahead: a show clock, not a calendar; a typo in `at` is refused
 *   rather than silently parking a change for years.
 */
import type { ScheduledStage, Stage } from "../../shared/protocol.ts";

export const MAX_AHEAD_MS = 24 * 60 * 60 * 1000;

export function minLeadMs(tickMs: number): number {
  return Math.max(500, 3 * tickMs);
}

/** The effective instant for a change asked for at `at`, or why it is refused (a message for a 400). */
export function resolveInstant(at: number, nowMs: number, tickMs: number): { at: number } | { error: string } {
  if (!Number.isSafeInteger(at) || at <= nowMs) return { error: `at: ${String(at)} is not in the future (server clock ${nowMs})` };
  const effective = Math.ceil(at / tickMs) * tickMs;
  const lead = minLeadMs(tickMs);
  if (effective - nowMs < lead) {
    return { error: `at: must be at least ${lead} ms ahead so every node hears of the change first; omit at for an immediate change` };
  }
  if (effective - nowMs > MAX_AHEAD_MS) return { error: `at: at most ${MAX_AHEAD_MS} ms (24 h) ahead` };
  return { at: effective };
}

export function sameStage(a: Stage, b: Stage): boolean {
  return a.act === b.act && a.open === b.open;
}

export function sameScheduled(a: ScheduledStage | null, b: ScheduledStage | null): boolean {
  return a === b || (a !== null && b !== null && a.at === b.at && sameStage(a, b));
}

/**
 * The stage in effect at `nowMs` and what is still pending: a scheduled change whose instant has
 * come is folded into the stage.
 */
export function stateAt(stage: Stage, next: ScheduledStage | null, nowMs: number): { stage: Stage; next: ScheduledStage | null } {
  if (next !== null && next.at <= nowMs) return { stage: { act: next.act, open: next.open }, next: null };
  return { stage, next };
}
