/**
 * Slow readers at scale: SLOW_READERS connections (CI 2,000; full size 10,000) say
 * hello and stop reading while totals flow, beside SLOW_READERS_WATCHERS viewers that keep reading
 * (CI 200; full size 2,000; protocol v2, in child processes of at most 500 each, fuzz/watcher-fleet.ts:
 * reading them in the test's own thread measured that thread) and 20 full test viewers (10 v1, 10 v2).
 * Reader flow control (server/transport/reader-flow.ts)
 * parks each once it leaves READER_UNACKED_BYTES unread, and closes it after READER_PARKED_CLOSE_MS.
 * Asserted: every one is closed with 4009 slow_consumer (the close frame reaches it: counted in
 * /metrics and seen by the client), server RSS grows by at most
 *   SLOW_READERS x (one totals frame + PER_CONN_OVERHEAD) + SLACK
 * (nothing queues in uWS for a parked reader; what sits in kernel buffers, host-wide, is printed),
 * and the viewers that keep reading (watchers and test viewers) keep >= 0.9x their tick rate and <= 2x their p99 latency of
 * the same run without the slow readers (the worse of a window before they connect and one after
 * they are closed: the shared box's load drifts).
 * Full size: SLOW_READERS=10000 SLOW_READERS_WATCHERS=2000 SLOW_READERS_SECONDS=60 node --import tsx --test --test-timeout=600000 test/slow-readers.test.ts
 * READER_UNACKED_BYTES=0 in the environment runs the server without reader flow control (to compare; it fails).
 */
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE } from "../shared/codes.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { rssBytes, scrape } from "./fuzz/observe.ts";
import { SlowReader } from "./fuzz/slow-reader.ts";
import { WatcherFleet } from "./fuzz/watcher-fleet.ts";

const N = Number(process.env.SLOW_READERS ?? 2_000);
const WATCHERS = Number(process.env.SLOW_READERS_WATCHERS ?? 200);
/** Watchers per child process at most (each reads its share in one thread). */
const WATCHER_PROCESSES = Math.max(1, Math.ceil(WATCHERS / 500));
const SECONDS = Number(process.env.SLOW_READERS_SECONDS ?? 15);
const MAX_BACKPRESSURE = 64 * 1024;
const PER_CONN_OVERHEAD = 16 * 1024; // uWS socket + our Conn + kernel-side bookkeeping in RSS
const SLACK = 64 * 1024 * 1024;
const TICK_MS = 100;

/** A phase of the run on stderr as it happens (a full-size run takes minutes on a busy box). */
const progress = (what: string, data: object = {}): void =>
  void process.stderr.write(`slow-readers ${new Date().toISOString()} ${what} ${JSON.stringify(data)}\n`);

/** Kernel memory held by TCP sockets, all of the host's (pages of /proc/net/sockstat, in bytes). */
function tcpKernelBytes(): number {
  const m = /^TCP:.* mem (\d+)/m.exec(readFileSync("/proc/net/sockstat", "utf8"));
  return m ? Number(m[1]) * 4096 : NaN;
}

let srv: RunningServer;
before(async () => {
  srv = await startServer({
    TICK_MS: String(TICK_MS),
    BUZZ_POLICY: "unlimited",
    RATE_LIMIT_PER_SEC: "0",
    // The readers connect all at once: admission control is not what this test is about.
    MAX_CONNECT_RATE: "0",
    MAX_BACKPRESSURE: String(MAX_BACKPRESSURE),
    ...(process.env.READER_UNACKED_BYTES === undefined ? {} : { READER_UNACKED_BYTES: process.env.READER_UNACKED_BYTES }),
  });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

/**
 * Totals frames per second per reader and delivery latency (receipt - server tick ts) seen by
 * `viewers` and `watchers` over `ms`.
 */
async function watch(
  viewers: TestViewer[],
  watchers: WatcherFleet,
  ms: number,
): Promise<{ periodMs: number; rateChangesTotal: number; rate: number; p50: number; p99: number }> {
  const own: number[] = [];
  const from = viewers.map((v) => v.frames.length);
  const handlers = viewers.map((v) => {
    const h = () => {
      const f = v.frames.at(-1);
      if (f?.type === "totals") own.push(Date.now() - f.ts);
    };
    v.ws.on("message", h);
    return h;
  });
  watchers.start();
  await new Promise((r) => setTimeout(r, ms));
  viewers.forEach((v, i) => v.ws.off("message", handlers[i]!));
  const watched = await watchers.stop();
  const frames = viewers.reduce((s, v, i) => s + v.frames.slice(from[i]).filter((f) => f.type === "totals").length, 0) + watched.frames;
  const lat = own.concat(watched.lat);
  lat.sort((a, b) => a - b);
  const tick = await scrape(srv.url, ["buzzcast_tick_period_seconds", "buzzcast_tick_rate_changes_total"]);
  const period = tick.get("buzzcast_tick_period_seconds");
  return {
    periodMs: period === undefined ? NaN : Math.round(period * 1000),
    rateChangesTotal: tick.get("buzzcast_tick_rate_changes_total") ?? NaN,
    rate: Math.round((frames / (viewers.length + watchers.size) / (ms / 1000)) * 100) / 100,
    p50: lat[Math.floor(lat.length * 0.5)] ?? NaN,
    p99: lat[Math.floor(lat.length * 0.99)] ?? NaN,
  };
}

test(
  `${N} readers that stop reading are closed with 4009, memory stays bounded, the others keep their tick rate`,
  { timeout: 600_000 },
  async (t) => {
    // 100 acts with long ids: each v1 totals frame is ~8 KB, so a stopped reader fills its buffers fast.
    const acts = Array.from({ length: 100 }, (_, i) => ({ id: `act-${String(i).padStart(3, "0")}-${"x".repeat(52)}`, name: `Act ${i}` }));
    await admin(srv, "PUT", "/api/shows/slow", { title: "Slow", acts });
    await admin(srv, "POST", "/api/shows/slow/stage", { act: acts[0]!.id, open: true });
    const good = await Promise.all(
      Array.from({ length: 20 }, (_, i) => TestViewer.join(srv.wsUrl, "slow", undefined, { protocol: i % 2 === 0 ? 1 : 2 })),
    );
    const watchers = await WatcherFleet.open(srv.wsUrl, "slow", WATCHERS, WATCHER_PROCESSES);
    t.after(() => watchers.kill());
    const buzzer = await TestViewer.join(srv.wsUrl, "slow");
    const buzz = setInterval(() => buzzer.buzz(acts[0]!.id), TICK_MS / 4); // a total changes every tick
    const watchMs = Math.min(10_000, SECONDS * 1000);
    const baseline = await watch(good, watchers, watchMs);
    progress("baseline", baseline);
    const pid = srv.proc.pid!;
    const rss0 = rssBytes(pid);
    const closes0 = (await scrape(srv.url, ["buzzcast_closes_total"])).get('buzzcast_closes_total{code="slow_consumer"}') ?? 0;

    let rssMax = rss0;
    const tcp0 = tcpKernelBytes();
    let tcpMax = tcp0;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rssBytes(pid));
      tcpMax = Math.max(tcpMax, tcpKernelBytes());
    }, 100);
    const slow: SlowReader[] = [];
    for (let i = 0; i < N; i += 200)
      slow.push(...(await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => SlowReader.open(srv.port, "slow")))));
    const atOpen = await scrape(srv.url, [
      "buzzcast_tick_rate_changes_total",
      "buzzcast_readers_parked",
      "buzzcast_readers_parked_closed_total",
    ]);
    progress("slow readers open", { n: slow.length, ...Object.fromEntries(atOpen) });
    const during = await watch(good, watchers, watchMs);
    progress("during", during);
    await waitFor(
      async () =>
        ((await scrape(srv.url, ["buzzcast_closes_total"])).get('buzzcast_closes_total{code="slow_consumer"}') ?? 0) - closes0 >= N,
      {
        what: `${N} slow_consumer closes`,
        timeoutMs: SECONDS * 1000 + 60_000,
        intervalMs: 500,
      },
    );
    clearInterval(sampler);
    const codes = await Promise.all(slow.map((s) => s.resume()));
    // Without slow readers once more: the box's load drifts over a run (other work shares it), so
    // the reference is the worse of the two windows without them, before and after.
    const afterwards = await watch(good, watchers, watchMs);
    progress("afterwards", afterwards);
    clearInterval(buzz);
    const reference = { rate: Math.min(baseline.rate, afterwards.rate), p99: Math.max(baseline.p99, afterwards.p99) };
    const by4009 = codes.filter((c) => c === CLOSE.slow_consumer.code).length;
    const bound = N * (8 * 1024 + PER_CONN_OVERHEAD) + SLACK;
    t.diagnostic(
      JSON.stringify({
        slowReaders: N,
        watchers: WATCHERS,
        closed4009: by4009,
        rssBeforeMiB: rss0 >> 20,
        rssMaxMiB: rssMax >> 20,
        growthMiB: (rssMax - rss0) >> 20,
        tcpKernelMiB: { before: tcp0 / 2 ** 20, max: tcpMax / 2 ** 20 },
        parked: (await scrape(srv.url, ["buzzcast_readers_parked_total"])).get("buzzcast_readers_parked_total"),
        boundMiB: bound >> 20,
        baseline,
        during,
        afterwards,
      }),
    );
    // A parked reader's buffers hold at most READER_UNACKED_BYTES and a second of frames: the close frame gets in.
    assert.ok(
      codes.every((c) => c === CLOSE.slow_consumer.code),
      `close codes seen: ${[...new Set(codes)].join(",")}`,
    );
    assert.ok(rssMax - rss0 <= bound, `RSS grew ${(rssMax - rss0) >> 20} MiB, bound ${bound >> 20} MiB`);
    assert.ok(
      during.rate >= reference.rate * 0.9,
      `tick rate ${during.rate.toFixed(2)}/s with slow readers, ${reference.rate.toFixed(2)}/s without`,
    );
    // 2x, with a floor of 20 ms over the reference: a quiet box's p99 is a few ms, within timer and
    // scheduling noise.
    assert.ok(
      during.p99 <= Math.max(2 * reference.p99, reference.p99 + 20),
      `p99 latency ${during.p99} ms with slow readers, ${reference.p99} ms without`,
    );
    for (const v of [...good, buzzer]) assert.equal(v.closeCode, null, "readers that keep up stay connected");
    for (const v of [...good, buzzer]) v.close();
    assert.equal(await watchers.close(), 0, "watchers that keep up stay connected");
  },
);
