/**
 * connections: ramps to N connections at --connect-rate, holds them idle for --duration, and
 * measures the connect rate achieved, failures by reason, and server memory per connection.
 * Memory per connection is a slope, not RSS/N: a warm-up group (10%, at most 1,000) is connected
 * first, so JIT and buffers are already in the baseline; then (RSS after all - RSS after warm-up) /
 * (connections added), each RSS read once it is stable after full GCs in the server (bench-started
 * servers get --expose-gc and a GC-on-request hook, run/gc-on-request.mjs).
 * Kernel socket memory is not in RSS. Beyond one process's 20,000 open files it needs several
 * server processes (--nodes).
 */
import type { BenchOptions } from "../run/options.ts";
import { type Session } from "./session.ts";
import { serverSample } from "../run/sampler.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { summarizeMs } from "../stats/histogram.ts";
import type { RunFigures } from "../report/report-types.ts";
import { baseFigures, closeSession, connectAll, limitedBy, openSession, sleep, strip, windowFigures } from "./session.ts";

export async function runConnections(opts: BenchOptions, sut: SystemUnderTest, label: string): Promise<RunFigures> {
  const show = opts.show ?? "demo";
  const s = await openSession(opts, sut, opts.connections, show, label);
  try {
    const warm = Math.min(1000, Math.max(1, Math.floor(opts.connections / 10)));
    await connectAll(s, warm);
    s.sampler.phase = "settle";
    await sleep(2000);
    const warmReady = (await s.fleet.freshTotals()).ready;
    const warmRss = await medianRss(s);
    const c0 = s.sampler.snap();
    const warmGeneratorRss = c0.fleet.rssBytes;
    await connectAll(s);
    const c1 = await s.fleet.freshTotals();
    const connectSec = (performance.now() - c0.tMs) / 1000;
    s.sampler.phase = "settle";
    await sleep(2000);
    s.fleet.beginWindow();
    s.sampler.phase = "hold";
    const a = s.sampler.snap();
    await sleep(opts.durationSec * 1000);
    await s.fleet.freshTotals();
    const b = s.sampler.snap();
    const w = windowFigures(a, b);
    const latency = summarizeMs(s.fleet.windowLatency);
    const rss = await medianRss(s);
    const added = b.fleet.ready - warmReady;
    return {
      ...baseFigures(s, w, b),
      scenario: "connections",
      mode: null,
      durationSec: w.sec,
      buzzesSent: 0,
      buzzesCounted: 0,
      buzzesPerSec: 0,
      connectRatePerSec: Math.round((c1.opened - warmReady) / connectSec),
      serverRssIdleBytes: warmRss,
      connectionsWarmup: warmReady,
      generatorBytesPerConnection: added > 0 ? Math.round((b.fleet.rssBytes - warmGeneratorRss) / added) : null,
      serverBytesPerConnection: warmRss !== null && rss !== null && added > 0 ? Math.round((rss - warmRss) / added) : null,
      latencyMs: strip(latency),
      latencyKind: "tick-to-receipt",
      latencySamples: latency.count,
      countedVia: "none",
      limitedBy: limitedBy(windowFigures(c0, a), sut.serverThreads, b.fleet.workers, 2),
      timeline: s.sampler.samples,
    };
  } finally {
    await closeSession(s);
  }
}

/**
 * Server RSS once it stops moving: full GC, wait 1 s, read; repeated until two readings are within
 * 256 KB (at most 6 rounds). V8 returns freed pages to the OS lazily, some time after the GC.
 * Without a GC hook (server not started by the bench) it just takes the median of 5 readings.
 */
async function medianRss(s: Session): Promise<number | null> {
  const read = () => serverSample(s.sut.pids)?.rssBytes ?? null;
  if (await s.sut.collectGarbage()) {
    let prev = read();
    for (let i = 0; i < 6 && prev !== null; i++) {
      await s.sut.collectGarbage();
      await sleep(1000);
      const now = read();
      if (now === null) return null;
      if (Math.abs(now - prev) < 256 * 1024) return now;
      prev = now;
    }
    return prev;
  }
  if (!s.notes.some((n) => n.startsWith("no forced GC"))) {
    s.notes.push("no forced GC before the memory readings (server not started by the bench): memory per connection is noisy");
  }
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = read();
    if (v === null) return null;
    xs.push(v);
    await sleep(200);
  }
  xs.sort((x, y) => x - y);
  return xs[2]!;
}
