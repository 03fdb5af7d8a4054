/**
 * A polite live region for numbers that change every tick. Screen readers would read every update
 * of a region that changes ten times a second, so the text shown on screen is not live; instead
 * `Announcer` writes a summary into a visually hidden `aria-live="polite"` element at most once per
 * `minIntervalMs` (default 5 s), and only when the summary changed since the last announcement.
 * A change inside the quiet interval is announced when the interval ends (the latest text wins), so
 * the last value is always spoken eventually.
 *
 * The clock and timer are injectable for unit tests.
 */
export interface AnnouncerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: AnnouncerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Announcer {
  readonly #write: (text: string) => void;
  readonly #minIntervalMs: number;
  readonly #clock: AnnouncerClock;
  #spoken = "";
  #pending: string | null = null;
  #lastAt = -Infinity;
  #timer: unknown = null;

  constructor(write: (text: string) => void, minIntervalMs = 5000, clock: AnnouncerClock = realClock) {
    this.#write = write;
    this.#minIntervalMs = minIntervalMs;
    this.#clock = clock;
  }

  /** Offers the current summary; it is spoken now, later (once the interval ends), or not at all if unchanged. */
  offer(text: string): void {
    this.#pending = text === this.#spoken ? null : text;
    if (this.#pending === null || this.#timer !== null) return;
    const wait = this.#lastAt + this.#minIntervalMs - this.#clock.now();
    if (wait <= 0) this.#flush();
    else this.#timer = this.#clock.setTimeout(() => this.#flush(), wait);
  }

  dispose(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #flush(): void {
    this.#timer = null;
    if (this.#pending === null) return;
    this.#spoken = this.#pending;
    this.#pending = null;
    this.#lastAt = this.#clock.now();
    this.#write(this.#spoken);
  }
}

/** Writes into a live region element (textContent only). */
export function liveRegionWriter(el: HTMLElement): (text: string) => void {
  return (text) => {
    el.textContent = text;
  };
}
