/**
 * Fires `run` every `tickMs`, whether the event loop is idle or flooded.
 *
 * Under an ingest flood the socket loop starves Node's timers (a plain setInterval measured at
 * 0-0.2 Hz here). So besides a timer, the message path calls `poke()`: every CHECK_EVERY messages
 * it reads the clock and runs the tick if it is due. Whichever comes first runs it; the other sees
 * it is not due yet. A tick never runs twice for one due time; late ticks are not replayed (the
 * cadence restarts from now), so a stall produces one catch-up tick, not a burst.
 */
import { performance } from "node:perf_hooks";

const CHECK_EVERY = 32;

export type TickFn = (lagMs: number, fromMessagePath: boolean) => void;

export class Ticker {
  private nextDue = 0;
  private timer: NodeJS.Timeout | null = null;
  private countdown = CHECK_EVERY;
  private running = false;

  constructor(
    private readonly tickMs: number,
    private readonly run: TickFn,
  ) {}

  start(): void {
    this.running = true;
    this.nextDue = performance.now() + this.tickMs;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Called once per received message: a counter decrement, and a clock read every CHECK_EVERY calls. */
  poke(): void {
    if (--this.countdown > 0) return;
    this.countdown = CHECK_EVERY;
    if (this.running && performance.now() >= this.nextDue) this.fire(true);
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.fire(false);
        this.schedule();
      },
      Math.max(0, this.nextDue - performance.now()),
    );
  }

  private fire(fromMessagePath: boolean): void {
    const now = performance.now();
    if (now < this.nextDue) return;
    const lag = now - this.nextDue;
    this.nextDue += this.tickMs;
    if (this.nextDue <= now) this.nextDue = now + this.tickMs;
    this.run(lag, fromMessagePath);
  }
}
