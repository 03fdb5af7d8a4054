/**
 * ingest: N connections buzz (flood: many frames per write; paced: one frame per write), as fast as
 * allowed or at --rate, while --observers more connections only watch. Figures: buzzes the server
 * counted (its own totals, after they settle), counted per second, server CPU per counted buzz, and
 * the tick rate and tick-to-receipt latency the observers saw meanwhile.
 */
import type { BenchOptions } from "../run/options.ts";
import { getShowState } from "../run/show-api.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { summarizeMs } from "../stats/histogram.ts";
import type { RunFigures } from "../report/report-types.ts";
import { countedTotals, settleCount } from "./counted.ts";
import { baseFigures, closeSession, connectAll, limitedBy, openSession, sleep, strip, windowFigures } from "./session.ts";

export async function runIngest(opts: BenchOptions, sut: SystemUnderTest, label: string): Promise<RunFigures> {
  const show = opts.show ?? "demo";
  const state = await getShowState(sut.httpUrls[0]!, show);
  const act = opts.act ?? (state.stage.open ? state.stage.act : null);
  if (act === null) throw new Error(`voting is not open on show "${show}": open an act (admin API) or pass --act`);
  const s = await openSession(opts, sut, opts.connections + opts.observers, show, label);
  try {
    await connectAll(s);
    await sleep(500);
    const before = (await countedTotals(sut, show)).sum;
    // a0..c (load start to settled totals): counting and CPU per buzz. a..b (steady load, worker
    // stats already reflecting who sends): tick rate, latency, CPU percentages.
    s.sampler.phase = "load";
    const a0 = s.sampler.snap();
    s.fleet.load({ mode: opts.mode, ratePerSec: opts.rate, act, senders: opts.connections, batchFrames: opts.batch });
    await s.fleet.freshTotals();
    s.fleet.beginWindow();
    const a = s.sampler.snap();
    await sleep(Math.max(0, opts.durationSec * 1000 - (a.tMs - a0.tMs)));
    await s.fleet.freshTotals();
    const b = s.sampler.snap();
    const latency = summarizeMs(s.fleet.windowLatency);
    s.fleet.load(null);
    const loadEnd = await s.fleet.freshTotals();
    const w = windowFigures(a, b);
    s.sampler.phase = "drain";
    const sent = loadEnd.buzzesSent;
    const settled = await settleCount(sut, show, before + sent);
    const c = s.sampler.snap();
    await sleep(opts.tickMs * 2); // the last acks go out on the next tick
    const acks = await s.fleet.freshTotals();
    const counted = settled.sum - before;
    const countWindowSec = Math.max((b.tMs - a0.tMs) / 1000, (settled.lastChangeMs - a0.tMs) / 1000);
    const drained = windowFigures(a0, c);
    if (counted < sent) s.notes.push(`${sent - counted} buzzes sent but not counted (server totals stopped at ${settled.sum})`);
    const figures: RunFigures = {
      ...baseFigures(s, w, b),
      scenario: "ingest",
      mode: opts.mode,
      senders: opts.connections,
      observers: Math.max(0, b.fleet.ready - opts.connections),
      durationSec: Math.round((b.tMs - a0.tMs) / 100) / 10,
      buzzesSent: sent,
      buzzesCounted: counted,
      buzzesPerSec: Math.round(counted / countWindowSec),
      countWindowSec: Math.round(countWindowSec * 100) / 100,
      serverCpuUsPerBuzz:
        drained.serverCpuSec !== null && counted > 0 ? Math.round((drained.serverCpuSec / counted) * 1e6 * 1000) / 1000 : null,
      buzzesPerServerCoreSec: drained.serverCpuSec !== null && drained.serverCpuSec > 0 ? Math.round(counted / drained.serverCpuSec) : null,
      latencyMs: strip(latency),
      latencyKind: "tick-to-receipt",
      latencySamples: latency.count,
      countedVia: "http",
      ackCounted: acks.ackCounted,
      ackRejected: acks.ackRejected,
      limitedBy: limitedBy(w, sut.serverThreads, acks.workers, 2),
      timeline: s.sampler.samples,
    };
    return figures;
  } finally {
    await closeSession(s);
  }
}
