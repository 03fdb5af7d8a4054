/**
 * How long the server takes to answer `GET /api/shows/:show` while a scenario loads it: one request
 * at a time, every `everyMs`, each with its own timeout, from start() until stop(). An operator's
 * dashboard and the balancer's checks read the HTTP API on the same thread that fans out, so a
 * saturated thread shows here first. Bounded: at most one request in flight, ends with stop().
 */
import { getShowState } from "../run/show-api.ts";

export interface HttpProbeFigures {
  /** Requests sent, and answered within the timeout. */
  requests: number;
  answered: number;
  /** Answer times in ms of the answered ones (a timed-out request counts as `timeoutMs` in `maxMs`). */
  p50Ms: number | null;
  maxMs: number | null;
  timeoutMs: number;
}

export class HttpProbe {
  private readonly timesMs: number[] = [];
  private requests = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly httpUrl: string,
    private readonly show: string,
    private readonly everyMs = 500,
    private readonly timeoutMs = 5000,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<HttpProbeFigures> {
    this.stopped = true;
    await this.loop;
    const answered = this.timesMs.filter((t) => t < this.timeoutMs);
    const sorted = [...answered].sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      requests: this.requests,
      answered: answered.length,
      p50Ms: sorted.length ? round(sorted[Math.floor(sorted.length / 2)]!) : null,
      maxMs: this.timesMs.length ? round(Math.max(...this.timesMs)) : null,
      timeoutMs: this.timeoutMs,
    };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      this.requests++;
      try {
        await getShowState(this.httpUrl, this.show, this.timeoutMs);
        this.timesMs.push(performance.now() - t0);
      } catch {
        this.timesMs.push(this.timeoutMs); // no answer in time (or an error): counted as not answered
      }
      const left = this.everyMs - (performance.now() - t0);
      if (left > 0 && !this.stopped) await new Promise((r) => setTimeout(r, left));
    }
  }
}
