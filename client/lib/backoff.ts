/**
 * Reconnect delays. Pure: the random source is a parameter.
 *  - after a "backoff" close: "equal jitter" exponential backoff, delay in [base/2, base] where
 *    base = min(maxMs, minMs * 2^attempt). Spreads a reconnect storm while never retrying faster
 *    than minMs/2.
 *  - after an "immediate" close (server drain/restart): uniform in [0, immediateJitterMs], so a
 *    whole audience does not reconnect in the same millisecond.
 */
import type { ReconnectRule } from "../../shared/codes.ts";

export interface ReconnectOptions {
  /** First backoff delay (ms). Default 500. */
  minMs: number;
  /** Largest backoff delay (ms). Default 15000. */
  maxMs: number;
  /** Spread of the reconnect after a drain (ms). Default 1000. */
  immediateJitterMs: number;
}

export const DEFAULT_RECONNECT: Readonly<ReconnectOptions> = Object.freeze({
  minMs: 500,
  maxMs: 15_000,
  immediateJitterMs: 1_000,
});

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry after a live connection was lost),
 * or `null` when the rule forbids reconnecting.
 */
export function reconnectDelay(
  rule: ReconnectRule,
  attempt: number,
  opts: ReconnectOptions,
  random: () => number,
): number | null {
  if (rule === "never") return null;
  if (rule === "immediate") return Math.floor(random() * opts.immediateJitterMs);
  const exp = Math.min(attempt, 30); // 2^30 * minMs already exceeds any sane maxMs
  const base = Math.min(opts.maxMs, opts.minMs * 2 ** exp);
  return Math.floor(base / 2 + random() * (base / 2));
}
