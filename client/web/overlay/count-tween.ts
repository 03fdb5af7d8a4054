/**
 * Animates a displayed count towards its latest value: each frame moves the shown number a share of
 * the remaining distance (ease-out), always by at least 1, so it lands exactly on the target within
 * about `durationMs`. Only the text node changes (no element is replaced or re-laid out), and the
 * digits use tabular figures in the stylesheet, so the change does not flicker or jitter.
 * A lower target (a reset: new epoch) is shown at once, never animated downwards.
 */
export interface FrameScheduler {
  request(fn: (now: number) => void): void;
}

export class CountTween {
  readonly #render: (n: number) => void;
  readonly #frames: FrameScheduler;
  readonly #durationMs: number;
  #shown = 0;
  #target = 0;
  #from = 0;
  #startAt = 0;
  #running = false;

  constructor(render: (n: number) => void, frames: FrameScheduler, durationMs = 600) {
    this.#render = render;
    this.#frames = frames;
    this.#durationMs = durationMs;
    render(0);
  }

  get shown(): number {
    return this.#shown;
  }

  set(target: number, now: number): void {
    if (target === this.#target) return;
    if (target < this.#shown) {
      this.#target = this.#shown = this.#from = target;
      this.#render(target);
      return;
    }
    this.#target = target;
    this.#from = this.#shown;
    this.#startAt = now;
    if (!this.#running) {
      this.#running = true;
      this.#frames.request((t) => this.#step(t));
    }
  }

  #step(now: number): void {
    const t = Math.min(1, Math.max(0, (now - this.#startAt) / this.#durationMs));
    const eased = 1 - (1 - t) * (1 - t) * (1 - t);
    const next =
      t >= 1
        ? this.#target
        : Math.min(this.#target, Math.max(this.#shown + 1, Math.round(this.#from + (this.#target - this.#from) * eased)));
    if (next !== this.#shown) {
      this.#shown = next;
      this.#render(next);
    }
    if (this.#shown < this.#target) this.#frames.request((t2) => this.#step(t2));
    else this.#running = false;
  }
}
