/**
 * The honest audience: real `ws` clients (test/harness/ws-client.ts), v1 and v2, buzzing on their
 * own show beside the fuzzer at a rate under the limit. At the end the buzzes acknowledged
 * `counted` must equal the live total exactly: no fuzz input may change a count.
 */
import { TestViewer } from "../harness/ws-client.ts";
import { waitFor } from "../harness/wait.ts";

export const HONEST_ACT = "h1";

export class HonestAudience {
  private timer: NodeJS.Timeout | undefined;
  private constructor(readonly viewers: TestViewer[]) {}

  static async join(wsUrl: string, show: string, n: number): Promise<HonestAudience> {
    const viewers = await Promise.all(
      Array.from({ length: n }, (_, i) => TestViewer.join(wsUrl, show, `honest-${i}`, { protocol: i % 2 === 0 ? 1 : 2 })),
    );
    return new HonestAudience(viewers);
  }

  /** Each viewer buzzes every `everyMs` (one at a time, in turn). */
  start(everyMs: number): void {
    let i = 0;
    this.timer = setInterval(() => {
      const v = this.viewers[i++ % this.viewers.length]!;
      if (v.closeCode === null) v.buzz(HONEST_ACT);
    }, everyMs / this.viewers.length);
  }

  /** Stops buzzing and waits for every buzz to be acknowledged; returns the sum of `counted`. */
  async settle(): Promise<{ sent: number; counted: number; closed: number }> {
    clearInterval(this.timer);
    const closed = this.viewers.filter((v) => v.closeCode !== null).length;
    if (closed > 0) return { sent: this.sent(), counted: this.counted(), closed };
    await waitFor(() => this.viewers.every((v) => (v.lastAck?.seq ?? 0) === v.sentSeq), {
      what: "every honest buzz acknowledged",
      timeoutMs: 20_000,
    });
    return { sent: this.sent(), counted: this.counted(), closed };
  }

  private sent(): number {
    return this.viewers.reduce((s, v) => s + v.sentSeq, 0);
  }
  private counted(): number {
    return this.viewers.reduce((s, v) => s + (v.lastAck?.counted ?? 0), 0);
  }

  close(): void {
    for (const v of this.viewers) v.ws.close();
  }
}
