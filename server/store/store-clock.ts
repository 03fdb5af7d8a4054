/**
 * Time and timers as the shared store uses them (persist interval, reconciliation passes, claim
 * waits). The system clock in production; the interleaving harness injects a virtual one so a
 * seeded run replays exactly.
 */
export interface StoreClock {
  now(): number;
  /** Run `fn` once after `ms`; the handle cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const SYSTEM_STORE_CLOCK: StoreClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};
