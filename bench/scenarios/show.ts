/**
 * show: a realistic episode on a fresh show (created through the admin API). An audience of N
 * watches; each act comes on stage and voting opens; 10% of the audience buzzes at --rate, then the
 * act flops and they burst at 10x; the producer closes voting once every buzz is acknowledged.
 * Figures: buzz -> visible-to-others latency (FIFO matching, see generator/visibility.ts), and
 * whether the final totals equal, per act, the buzzes sent and acknowledged as counted.
 * Only the first generator process buzzes (so its send order is the server's count order).
 */
import type { Act } from "../../shared/protocol.ts";
import type { BenchOptions } from "../run/options.ts";
import { putShow, setStage } from "../run/show-api.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { summarizeMs } from "../stats/histogram.ts";
import type { RunFigures } from "../report/report-types.ts";
import { countedTotals } from "./counted.ts";
import { baseFigures, closeSession, connectAll, limitedBy, openSession, sleep, strip, windowFigures } from "./session.ts";

const ACTS: Act[] = [1, 2, 3].map((i) => ({ id: `act-${i}`, name: `Bench act ${i}` }));
const BURST_FACTOR = 10;

export async function runShow(opts: BenchOptions, sut: SystemUnderTest, label: string): Promise<RunFigures> {
  const token = opts.adminToken ?? sut.adminToken;
  if (token === null) throw new Error("the show scenario drives the stage: pass --admin-token (or use --start)");
  const http = sut.httpUrls[0]!;
  const show = opts.show ?? `bench-${Date.now().toString(36)}`;
  await putShow(http, token, show, { title: "Bench show", acts: ACTS });
  await setStage(http, token, show, { act: null, open: false });
  const s = await openSession(opts, sut, opts.connections, show, label);
  const tick = opts.tickMs;
  try {
    await connectAll(s);
    await sleep(500);
    const workerZero = s.fleet.shares[0] ?? 0;
    const senders = Math.max(1, Math.min(Math.round(opts.connections * 0.1), workerZero - 1));
    const sentByAct: Record<string, number> = {};
    const before = (await countedTotals(sut, show)).byAct;
    s.fleet.beginWindow();
    const a = s.sampler.snap();
    const phaseMs = opts.durationSec * 1000;
    for (const act of ACTS) {
      s.sampler.phase = `${act.id} open`;
      await setStage(http, token, show, { act: act.id, open: true });
      await sleep(2 * tick);
      s.fleet.send(0, { type: "track", act: act.id });
      const start = (await s.fleet.freshTotals()).buzzesSent;
      s.fleet.load({ mode: "paced", ratePerSec: opts.rate, act: act.id, senders, batchFrames: 1 }, 0);
      await sleep(phaseMs * 0.6);
      s.sampler.phase = `${act.id} flop`;
      s.fleet.load({ mode: "paced", ratePerSec: opts.rate * BURST_FACTOR, act: act.id, senders, batchFrames: 1 }, 0);
      await sleep(phaseMs * 0.4);
      s.fleet.load(null);
      sentByAct[act.id] = (await s.fleet.freshTotals()).buzzesSent - start;
      s.sampler.phase = `${act.id} closing`;
      await s.fleet.waitUntil((t) => t.ackCounted + t.ackRejected >= t.buzzesSent, 15_000, "acks for every buzz");
      await setStage(http, token, show, { act: act.id, open: false });
      await sleep(2 * tick);
      s.fleet.send(0, { type: "track", act: null });
    }
    const b = s.sampler.snap();
    const end = await s.fleet.freshTotals();
    const w = windowFigures(a, b);
    const visible = summarizeMs(s.fleet.windowVisible);
    const tickLatency = summarizeMs(s.fleet.windowLatency);
    const after = (await countedTotals(sut, show)).byAct;
    const countCheck: Record<string, { expected: number; actual: number }> = {};
    for (const act of ACTS) countCheck[act.id] = { expected: sentByAct[act.id] ?? 0, actual: (after[act.id] ?? 0) - (before[act.id] ?? 0) };
    const sent = Object.values(sentByAct).reduce((x, y) => x + y, 0);
    const counted = Object.values(countCheck).reduce((x, c) => x + c.actual, 0);
    countCheck.acknowledged = { expected: sent, actual: end.ackCounted };
    const exact = Object.values(countCheck).every((c) => c.expected === c.actual) && end.ackRejected === 0;
    if (!exact)
      s.notes.push(`final totals differ from buzzes sent/acknowledged: ${JSON.stringify(countCheck)}, rejected ${end.ackRejected}`);
    return {
      ...baseFigures(s, w, b),
      scenario: "show",
      mode: "paced",
      durationSec: w.sec,
      buzzesSent: sent,
      buzzesCounted: counted,
      buzzesPerSec: Math.round(counted / w.sec),
      latencyMs: strip(visible),
      latencyKind: "buzz-to-visible",
      latencySamples: visible.count,
      tickLatencyMs: strip(tickLatency),
      receiptSpreadMs: strip(s.fleet.windowSpread.summary()),
      countedVia: "http",
      countsExact: exact,
      countCheck,
      limitedBy: limitedBy(w, sut.serverThreads, b.fleet.workers, 2),
      timeline: s.sampler.samples,
    };
  } finally {
    await closeSession(s);
  }
}
