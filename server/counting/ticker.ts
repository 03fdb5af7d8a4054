/**
 * Fires the two phases of every tick at wall-clock instants, whether the event loop is idle or
 * flooded. Tick k is the instant k x tickMs since the Unix epoch (Date.now(), so every worker and
 * every node with a synchronized clock ticks at the same instants):
 *   phase 1, `flush(k)`,   at k x tickMs:              acks, then every unit hands its deltas over;
 *   phase 2, `publish(k)`, at k x tickMs + offsetMs:   every unit reads the totals and publishes.
 * The offset is what lets every unit's flush land before any unit reads (docs/architecture.md).
 *
 * Under an ingest flood the socket loop starves Node's timers (a plain setInterval measured at
 * 0-0.2 Hz here). So besides a timer, the message path calls `poke()`: every CHECK_EVERY messages
 * it reads the clock and runs the phase if it is due and the loop is flooded: FLOOD_MESSAGES or
 * more messages arrived since the timer's callback last ran. Whichever comes first runs it; the
 * other sees it is not due yet. A phase merely late because the thread is busy (uWS's fan-out of
 * the last publish ran just before the messages) is left to the timer, which runs it as soon as the
 * loop reaches its timers: a publish from the message path is sent subscriber by subscriber from
 * JavaScript (transport/fanout.ts), dearer than uWS's own fan-out (measured at 15,000 subscribers
 * with the thread 90-95% busy: a quarter of the frames went that way).
 *
 * Guarantees: phases alternate strictly (flush k, publish k, flush k' > k, ...); each runs once per
 * tick; late ticks are not replayed: after a stall the next flush is the latest instant already
 * passed (one catch-up tick, not a burst), and its publish follows at its own offset.
 */

const CHECK_EVERY = 32;
/** Messages since the timer last ran from which the loop counts as flooded (a few ms of a flood). */
export const FLOOD_MESSAGES = 1024;

/** `lagMs`: how late the phase runs after its instant. */
export type PhaseFn = (tick: number, lagMs: number, fromMessagePath: boolean) => void;

export interface TickPhases {
  flush: PhaseFn;
  publish: PhaseFn;
}

/** The first tick instant strictly after `nowMs`. */
export function nextTickAfter(nowMs: number, tickMs: number): number {
  return Math.floor(nowMs / tickMs) + 1;
}

export class Ticker {
  /** The tick whose next phase is due. */
  private tick = 0;
  private phase: "flush" | "publish" = "flush";
  private due = 0;
  private timer: NodeJS.Timeout | null = null;
  private countdown = CHECK_EVERY;
  private running = false;
  /** Messages since the timer's callback last ran. */
  private sinceTimer = 0;
  /** Messages received (pokes): lets the tick tell its own work from incoming traffic (fanout-cost.ts). */
  messages = 0;

  constructor(
    readonly tickMs: number,
    readonly offsetMs: number,
    private readonly phases: TickPhases,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(offsetMs >= 0 && offsetMs < tickMs)) throw new RangeError(`publish offset ${offsetMs} must be in [0, ${tickMs})`);
  }

  start(): void {
    this.running = true;
    this.tick = nextTickAfter(this.clock(), this.tickMs);
    this.phase = "flush";
    this.due = this.tick * this.tickMs;
    this.sinceTimer = 0;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Called once per received message: two counters, and a clock read every CHECK_EVERY calls once flooded. */
  poke(): void {
    this.messages++;
    this.sinceTimer++;
    if (--this.countdown > 0) return;
    this.countdown = CHECK_EVERY;
    if (this.running && this.sinceTimer >= FLOOD_MESSAGES && this.clock() >= this.due) this.fire(true);
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.fire(false);
        this.sinceTimer = 0;
        this.schedule();
      },
      Math.max(0, this.due - this.clock()),
    );
  }

  /** Runs every phase that is due (at most a flush and its publish), then points at the next one. */
  private fire(fromMessagePath: boolean): void {
    let now = this.clock();
    while (this.running && now >= this.due) {
      if (this.phase === "flush") {
        // After a stall, the latest instant already passed (the ones in between are not replayed).
        const latest = Math.floor(now / this.tickMs);
        if (latest > this.tick) this.tick = latest;
        this.due = this.tick * this.tickMs;
      }
      const k = this.tick;
      const lag = now - this.due;
      if (this.phase === "flush") {
        this.phase = "publish";
        this.due = k * this.tickMs + this.offsetMs;
        this.phases.flush(k, lag, fromMessagePath);
      } else {
        this.tick = k + 1;
        this.phase = "flush";
        this.due = this.tick * this.tickMs;
        this.phases.publish(k, lag, fromMessagePath);
      }
      now = this.clock();
    }
  }
}
