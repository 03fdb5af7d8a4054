/**
 * Per-connection token bucket. State lives in the connection's own object (no map lookups); refill
 * is computed lazily from the clock on each take.
 *
 * A refused buzz costs no token (a client slightly over the rate still gets `perSec` buzzes
 * through). Refusals accumulate as `excess`, which drains at `perSec`; a connection whose excess
 * passes `floodAfter` is sending far above the limit and should be closed as flooding.
 */
export interface BucketState {
  tokens: number;
  excess: number;
  last: number;
}

export type TakeResult = "ok" | "limited" | "flood";

export class RateLimiter {
  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    private readonly floodAfter: number,
  ) {}

  get enabled(): boolean {
    return this.perSec > 0;
  }

  fresh(now: number): BucketState {
    return { tokens: this.burst, excess: 0, last: now };
  }

  take(b: BucketState, now: number): TakeResult {
    if (this.perSec <= 0) return "ok";
    const elapsed = now - b.last;
    if (elapsed > 0) {
      const refill = (elapsed * this.perSec) / 1000;
      b.tokens = Math.min(this.burst, b.tokens + refill);
      b.excess = Math.max(0, b.excess - refill);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return "ok";
    }
    b.excess += 1;
    return b.excess > this.floodAfter ? "flood" : "limited";
  }
}
