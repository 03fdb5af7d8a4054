/**
 * Visibility: how long a buzz takes to reach other viewers' screens. A dedicated show (`probe`,
 * one act, always open) has one watcher per node (connected to that node, reconnecting) and no other
 * audience, so its total moves only with probes. Every PROBE_EVERY_MS a fresh viewer (a new token
 * `sub`, so `once` counts it) connects straight to node k mod 3, buzzes once and, for each watcher on
 * another node, the time until its screen shows the new total is one sample. A sample is "during"
 * when any fault was active at some point between the buzz and its arrival, else "outside"; a total
 * not seen within SEEN_TIMEOUT_MS is a sample of that value (and counted as unseen).
 */
import type { Faults } from "../harness/faults.ts";
import { sleep, type Rng } from "./rng.ts";
import type { Tally } from "./tally.ts";
import { SoakViewer, connect } from "./viewer.ts";

export const PROBE_SHOW = "probe";
export const PROBE_ACT = "p";
const PROBE_EVERY_MS = 1000;
const SEEN_TIMEOUT_MS = 5000;

export interface Visibility {
  outside: number[];
  during: number[];
  unseen: number;
  probes: number;
  probeConnectFailures: number;
}

export class Prober {
  readonly vis: Visibility = { outside: [], during: [], unseen: 0, probes: 0, probeConnectFailures: 0 };
  private readonly watchers: SoakViewer[];
  readonly done: Promise<void>;

  constructor(
    private readonly nodeUrls: readonly string[],
    private readonly secret: Uint8Array,
    private readonly tally: Tally,
    private readonly faults: Faults,
    rng: Rng,
    private readonly stopped: () => boolean,
    /** A line per unseen sample (rare): what each side showed, for the run's log. */
    private readonly log: (line: string) => void = () => {},
  ) {
    this.watchers = nodeUrls.map(
      (url, i) => new SoakViewer({ url, show: PROBE_SHOW, sub: `watcher-${i}`, secret, tally, rng: rng.fork(), stopped, pace: null }),
    );
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let k = 0; !this.stopped(); k++) {
      const t = Date.now();
      await this.probe(k);
      await sleep(Math.max(0, PROBE_EVERY_MS - (Date.now() - t)));
    }
    await Promise.all(this.watchers.map((w) => w.done));
  }

  private async probe(k: number): Promise<void> {
    const i = k % this.nodeUrls.length;
    const c = await connect({ url: this.nodeUrls[i]!, show: PROBE_SHOW, sub: `probe-${k}`, secret: this.secret, tally: this.tally });
    if (c === null) {
      this.vis.probeConnectFailures++;
      return;
    }
    const { v } = c;
    const others = this.watchers
      .map((w, j) => ({ w: w.current, j }))
      .filter((o): o is { w: NonNullable<SoakViewer["current"]>; j: number } => o.j !== i && o.w !== null && o.w.closeCode === null);
    // The baseline is what the screens show now, never what earlier probes' acks imply: a probe
    // lost in a SIGKILL window was acknowledged but never reaches any screen, and a baseline
    // counting it would leave every later probe one short of "seen" (a chain of 5 s samples, the
    // first 30-minute run's p99). A previous probe arriving after this one's buzz (it was unseen
    // for 5 s) may make this sample short; that one was already counted as unseen.
    const seenNow = Math.max(...others.map((o) => o.w.totals[PROBE_ACT] ?? 0), v.totals[PROBE_ACT] ?? 0);
    const want = seenNow + 1;
    const t0 = Date.now();
    const seq = v.buzz(PROBE_ACT);
    this.tally.sent++;
    this.vis.probes++;
    const arrivals = others.map(({ w }) =>
      w
        .until(() => (w.totals[PROBE_ACT] ?? 0) >= want, "probe seen", SEEN_TIMEOUT_MS)
        .then(() => Date.now() - t0)
        .catch(() => null),
    );
    await v.until(() => (v.lastAck?.seq ?? 0) >= seq || v.closeCode !== null, "probe ack", SEEN_TIMEOUT_MS).catch(() => {});
    const ack = v.lastAck;
    const samples = await Promise.all(arrivals);
    v.close();
    if (ack === null || ack.seq < seq) {
      this.tally.lostInFlight(PROBE_SHOW, PROBE_ACT);
      return;
    }
    this.tally.answered++;
    if (ack.counted !== 1) return; // not counted (e.g. the stage changed): nothing to see
    this.tally.counted(PROBE_SHOW, PROBE_ACT, `probe-${k}`);
    samples.forEach((s, n) => {
      const ms = s ?? SEEN_TIMEOUT_MS;
      const during = this.faultedBetween(t0, t0 + ms);
      (during ? this.vis.during : this.vis.outside).push(ms);
      if (s !== null) return;
      this.vis.unseen++;
      const o = others[n]!;
      const shows = this.watchers.map((w, j) => `n${j + 1}=${w.current === null ? "-" : (w.current.totals[PROBE_ACT] ?? 0)}`).join(" ");
      this.log(
        `probe ${k} via n${i + 1} unseen on n${o.j + 1} (${during ? "during" : "outside"} faults): want ${want}, ack ${JSON.stringify(ack)}, ` +
          `that connection ${o.w.closeCode === null ? "open" : `closed ${o.w.closeCode}`} showing ${o.w.totals[PROBE_ACT] ?? 0}; now ${shows}`,
      );
    });
  }

  private faultedBetween(from: number, to: number): boolean {
    return this.faults.log.some((f) => f.startedAt <= to && (f.stoppedAt ?? Infinity) >= from);
  }
}

export function p99(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!;
}
