/**
 * Receipt spread of the same frame across all clients: how long after the first
 * client got a totals frame the others got it. "The same frame" is the same `ts`: with aligned ticks
 * every server process stamps a tick's frames with the same instant (a bare baseline has one process,
 * whose frames differ in `ts` anyway). For every receipt, spread = its time minus the earliest
 * receipt of that `ts` over every generator process; the summary pools every receipt of the window.
 *
 * Generator processes keep, per `ts`, the receipt latencies (receipt - ts, 0.1 ms units) and ship
 * them with each stats message; the runner merges them per `ts` (a frame straddling two stats
 * intervals or processes is merged whole) and computes the spread at the end of the window.
 * Volume: one small integer per delivery per stats message.
 */
import { newLatencyHistogram, recordMs, summarizeMs, type LatencyMs } from "./histogram.ts";

/** ts -> receipt latencies in 0.1 ms units. */
export type FrameReceipts = Array<[number, number[]]>;

/** Generator side: one per process. */
export class FrameReceiptLog {
  private byTs = new Map<number, number[]>();

  record(ts: number, latencyMs: number): void {
    let l = this.byTs.get(ts);
    if (!l) this.byTs.set(ts, (l = []));
    l.push(Math.round(latencyMs * 10));
  }

  /** Everything recorded since the last take. */
  take(): FrameReceipts {
    const out = [...this.byTs];
    this.byTs = new Map();
    return out;
  }
}

/** Runner side: merges every process's receipts over the measurement window. */
export class FrameSpread {
  private byTs = new Map<number, number[]>();

  add(receipts: FrameReceipts | undefined): void {
    for (const [ts, l] of receipts ?? []) {
      const have = this.byTs.get(ts);
      if (have) for (const x of l) have.push(x);
      else this.byTs.set(ts, l);
    }
  }

  reset(): void {
    this.byTs = new Map();
  }

  /** Pooled spread percentiles over every receipt of frames received by at least two clients. */
  summary(): LatencyMs & { frames: number } {
    const h = newLatencyHistogram();
    let frames = 0;
    for (const l of this.byTs.values()) {
      if (l.length < 2) continue;
      frames++;
      let min = Infinity;
      for (const x of l) if (x < min) min = x;
      for (const x of l) recordMs(h, (x - min) / 10);
    }
    return { ...summarizeMs(h), frames };
  }
}
