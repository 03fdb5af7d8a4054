/**
 * fanout: N idle subscribers; one extra sender buzzes at --rate (default 50/s, paced) so totals change
 * every tick and a frame goes out on every tick. Figures: deliveries/s, tick rate observed,
 * tick-to-receipt latency (from `ts`), frames missed (seq gaps), server CPU per delivery, bytes per
 * totals delivery and per viewer-second. With --acts (and --seed-total) on a fresh big show (seed.ts).
 */
import type { BenchOptions } from "../run/options.ts";
import { getShowState } from "../run/show-api.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { summarizeMs } from "../stats/histogram.ts";
import type { RunFigures } from "../report/report-types.ts";
import { countedTotals, settleCount } from "./counted.ts";
import { HttpProbe } from "./http-probe.ts";
import { createBigShow, seedBigShow } from "./seed.ts";
import { baseFigures, closeSession, connectAll, limitedBy, openSession, sleep, strip, windowFigures } from "./session.ts";

export async function runFanout(opts: BenchOptions, sut: SystemUnderTest, label: string): Promise<RunFigures> {
  const big = opts.acts > 0;
  const show = big ? await createBigShow(opts, sut) : (opts.show ?? "demo");
  const state = await getShowState(sut.httpUrls[0]!, show);
  const act = opts.act ?? (big ? "act-1" : state.stage.open ? state.stage.act : null);
  const s = await openSession(opts, sut, opts.connections, show, label);
  try {
    await connectAll(s);
    if (big) await seedBigShow(s);
    const before = await tryCount(s.notes, () => countedTotals(sut, show).then((c) => c.sum));
    if (act !== null && opts.rate > 0) {
      s.fleet.load({ mode: "paced", ratePerSec: opts.rate, act, senders: 1, batchFrames: 1 }, 0);
    } else {
      s.notes.push("no sender (voting closed or --rate 0): the server publishes only its heartbeat");
    }
    s.sampler.phase = "warm";
    await sleep(1000);
    s.fleet.beginWindow();
    s.sampler.phase = "measure";
    const a = s.sampler.snap();
    const probe = new HttpProbe(sut.httpUrls[0]!, show);
    probe.start();
    await sleep(opts.durationSec * 1000);
    await s.fleet.freshTotals();
    const b = s.sampler.snap();
    const httpApi = await probe.stop();
    s.fleet.load(null);
    const w = windowFigures(a, b);
    const latency = summarizeMs(s.fleet.windowLatency);
    const sent = (await s.fleet.freshTotals()).buzzesSent;
    const settled =
      before === null ? null : await tryCount(s.notes, () => settleCount(sut, show, before + sent, 1000, 5000).then((c) => c.sum));
    const counted = before !== null && settled !== null ? settled - before : null;
    return {
      ...baseFigures(s, w, b),
      scenario: "fanout",
      mode: null,
      durationSec: w.sec,
      buzzesSent: sent,
      buzzesCounted: counted ?? 0,
      buzzesPerSec: Math.round((counted ?? 0) / w.sec),
      serverCpuUsPerDelivery:
        w.serverCpuSec !== null && w.deliveries > 0 ? Math.round((w.serverCpuSec / w.deliveries) * 1e6 * 1000) / 1000 : null,
      latencyMs: strip(latency),
      latencyKind: "tick-to-receipt",
      receiptSpreadMs: strip(s.fleet.windowSpread.summary()),
      httpApi,
      latencySamples: latency.count,
      countedVia: counted === null ? "none" : "http",
      limitedBy: limitedBy(w, sut.serverThreads, b.fleet.workers, 2),
      timeline: s.sampler.samples,
    };
  } finally {
    await closeSession(s);
  }
}

/** The server's count, or null (with a note) when a saturated server does not answer in time. */
async function tryCount(notes: string[], fn: () => Promise<number>): Promise<number | null> {
  try {
    return await fn();
  } catch (err) {
    notes.push(`server totals unavailable (${err instanceof Error ? err.message : String(err)}): buzzesCounted not measured`);
    return null;
  }
}
