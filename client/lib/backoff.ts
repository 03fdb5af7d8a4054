/**
 * Reconnect delays: the rule is shared/codes.ts's RECONNECT_BACKOFF and reconnectDelayMs (full
 * jitter, doubling to 30 s; a drain reconnects within 1 s). This module only lets a caller scale
 * the table (tests shorten it); it adds no rule of its own. Pure: the random source is a parameter.
 */
import { RECONNECT_BACKOFF, reconnectDelayMs, type BackoffPolicy, type ReconnectRule } from "../../shared/codes.ts";

/** Same fields as the shared table: `baseMs` (first window), `maxMs` (cap), `immediateJitterMs`. */
export type ReconnectOptions = BackoffPolicy;

export const DEFAULT_RECONNECT: Readonly<ReconnectOptions> = Object.freeze({
  baseMs: RECONNECT_BACKOFF.baseMs,
  maxMs: RECONNECT_BACKOFF.maxMs,
  immediateJitterMs: RECONNECT_BACKOFF.immediateJitterMs,
});

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry after a live connection was lost),
 * or `null` when the rule forbids reconnecting. `retryAfterMs`: what the server's error frame before
 * the close asked for (a paced drain); it replaces the rule's jitter (capped at `maxMs`).
 */
export function reconnectDelay(
  rule: ReconnectRule,
  attempt: number,
  opts: ReconnectOptions,
  random: () => number,
  retryAfterMs?: number,
): number | null {
  return reconnectDelayMs(rule, attempt, random, opts, retryAfterMs);
}
