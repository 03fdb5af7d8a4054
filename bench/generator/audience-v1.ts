/**
 * The generator's reading of protocol v1 (JSON) frames, for one worker's audience. Totals and acks
 * (the hot path) are scanned in place (frame-scan.ts) for the few fields the bench needs; only the
 * reference connection's totals frame is parsed in full, once per tick. Welcome and error frames
 * are rare and parsed in full.
 */
import { TotalsFrame, Welcome } from "../../shared/protocol.ts";
import type { Audience } from "./audience.ts";
import type { BenchConnection } from "./bench-connection.ts";
import { actTotal, FrameKind, frameKind, key, numberField, sumObjectField } from "./frame-scan.ts";

const K_SEQ = key("seq"),
  K_TS = key("ts"),
  K_COUNTED = key("counted"),
  K_REJECTED = key("rejected"),
  K_TOTALS = key("totals");

const now = (): number => performance.timeOrigin + performance.now();

export class V1Reader {
  private readonly actKeys = new Map<string, Buffer>();

  constructor(private readonly a: Audience) {}

  message(c: BenchConnection, data: Buffer, start: number, end: number): void {
    switch (frameKind(data, start, end)) {
      case FrameKind.Totals:
        return this.totals(c, data, start, end);
      case FrameKind.Ack:
        return this.a.acked(c, numberField(data, K_COUNTED, start, end), sumObjectField(data, K_REJECTED, start, end));
      case FrameKind.Welcome: {
        const w = Welcome.safeParse(JSON.parse(data.toString("utf8", start, end)));
        return w.success ? this.a.welcomed(c, w.data.epoch, w.data.seq) : this.a.badWelcome(c);
      }
      case FrameKind.Error: {
        const parsed = JSON.parse(data.toString("utf8", start, end)) as { code?: unknown };
        return this.a.bump(`error:${String(parsed.code)}`);
      }
      default:
        return;
    }
  }

  private totals(c: BenchConnection, data: Buffer, start: number, end: number): void {
    const t = now();
    const role = this.a.totalsFrame(c, numberField(data, K_SEQ, start, end), numberField(data, K_TS, start, end), t);
    if (role === "sender") return;
    const tracker = this.a.tracker;
    if (tracker !== null && this.a.observers.has(c.id)) {
      const total = actTotal(data, K_TOTALS, this.actKey(tracker.act), start, end);
      if (!Number.isNaN(total)) tracker.observed(c.id, total, t);
    }
    if (role === "reference") {
      // One full parse per tick (reference connection only): epoch and per-act totals for the runner.
      const f = TotalsFrame.safeParse(JSON.parse(data.toString("utf8", start, end)));
      if (!f.success) return this.a.bump("bad-totals");
      const sum = Object.values(f.data.totals).reduce((x, y) => x + y, 0);
      if (f.data.epoch !== c.epoch) c.epoch = f.data.epoch;
      this.a.lastTotals = { epoch: f.data.epoch, seq: f.data.seq, sum, byAct: f.data.totals };
    }
  }

  private actKey(act: string): Buffer {
    let k = this.actKeys.get(act);
    if (k === undefined) {
      k = key(act);
      this.actKeys.set(act, k);
    }
    return k;
  }
}
