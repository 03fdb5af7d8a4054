/**
 * Steady buzzing from a set of viewers for fault tests, with the bookkeeping the assertions need:
 * how many buzzes each node acknowledged as counted, and whether any viewer ever saw a total drop.
 */
import type { TestViewer } from "./ws-client.ts";

export interface Buzzing {
  /** Stop buzzing and wait until every open viewer's last buzz is acknowledged. */
  stop(): Promise<void>;
}

/** Every viewer buzzes `act` every `everyMs` until stopped. */
export function buzzSteadily(viewers: readonly TestViewer[], act: string, everyMs = 20): Buzzing {
  const timer = setInterval(() => {
    for (const v of viewers) if (v.closeCode === null && v.ws.readyState === v.ws.OPEN) v.buzz(act);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(
        viewers.filter((v) => v.closeCode === null).map((v) => v.until(() => v.lastAck?.seq === v.sentSeq, "last ack", 30_000)),
      );
    },
  };
}

/** Sum of buzzes acknowledged as counted over these viewers' connections. */
export function ackedCounted(viewers: readonly TestViewer[]): number {
  return viewers.reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
}

/** Throws if any viewer ever received, within one epoch, a total lower than one it saw before. */
export function assertNeverDecreased(viewers: readonly TestViewer[]): void {
  for (const v of viewers) {
    let epoch = v.welcome?.epoch;
    const best: Record<string, number> = { ...(v.welcome?.totals ?? {}) };
    for (const f of v.frames) {
      if (f.type !== "totals") continue;
      if (f.epoch !== epoch) {
        epoch = f.epoch;
        for (const k of Object.keys(best)) delete best[k];
      }
      for (const [act, n] of Object.entries(f.totals)) {
        if (n < (best[act] ?? 0)) throw new Error(`a viewer saw ${act} drop from ${best[act]} to ${n} (seq ${f.seq})`);
        best[act] = n;
      }
    }
  }
}
