/**
 * The cost of delivering published frames (in this thread's CPU time where the OS tells it,
 * work-clock.ts: a wait for a core held by another process is not cost), part of the tick's work (tick-rate.ts). uWS buffers what
 * `app.publish` is given and writes it to the subscribers' sockets at the end of the event-loop
 * iteration, after the publishing callback returned: measured here from the end of the publish to
 * the check phase that follows (a setImmediate runs after uWS's end-of-iteration handler; measured:
 * 2,000 subscribers at 50 ms ticks, 0.3% of the period inside publish, 20-140% with this).
 *
 * That window also holds the I/O the loop polls in between (an ingest flood). A sample is clean when
 * no message arrived meanwhile; clean samples with enough deliveries set the cost per delivery
 * (moving average), and the other samples are estimated from it, so incoming traffic is not
 * mistaken for fan-out. One setImmediate per publish; nothing per subscriber or message.
 */
import { workClock, type WorkClock } from "./work-clock.ts";

/** Fewer deliveries than this say little about the cost of one. */
const MIN_DELIVERIES = 50;

export class FanoutCost {
  /** Cost of one delivery (ms), from clean samples; 0 until the first. */
  perDeliveryMs = 0;
  private from = 0;
  private deliveries = 0;
  private messagesAt = 0;
  private pending = false;

  constructor(
    /** Messages received so far (the ticker counts them). */
    private readonly messages: () => number,
    /** The fan-out's cost in ms, once known. */
    private readonly onCost: (ms: number) => void,
    /** What a ms of work is measured with (work-clock.ts: this thread's CPU time on Linux). */
    private readonly clock: WorkClock = workClock().clock,
    /** Runs `fn` after uWS's end-of-iteration handler (setImmediate; injected in unit tests). */
    private readonly after: (fn: () => void) => void = setImmediate,
  ) {}

  /** A publish just handed frames for `deliveries` subscribers to uWS. */
  published(deliveries: number): void {
    // One measurement per loop iteration: a second publish in the same iteration (a late thread
    // running two ticks' publishes in one turn) is sent in the same window, so it joins it.
    if (this.pending) {
      this.deliveries += deliveries;
      return;
    }
    this.pending = true;
    this.from = this.clock();
    this.deliveries = deliveries;
    this.messagesAt = this.messages();
    this.after(this.measure);
  }

  private readonly measure = (): void => {
    this.pending = false;
    const ms = this.clock() - this.from;
    const d = this.deliveries;
    const clean = this.messages() === this.messagesAt;
    if (clean && d >= MIN_DELIVERIES) this.perDeliveryMs = this.perDeliveryMs === 0 ? ms / d : 0.8 * this.perDeliveryMs + 0.2 * (ms / d);
    this.onCost(clean ? ms : d * this.perDeliveryMs);
  };
}
