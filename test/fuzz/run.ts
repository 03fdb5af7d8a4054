/**
 * One fuzz run against a node (docs/fuzzing.md): set up the shows, start the honest audience,
 * fuzz the WebSocket endpoint then HTTP, settle, and check every invariant. Returns a one-line
 * summary and the list of violations (empty = pass).
 */
import { CLOSE } from "../../shared/codes.ts";
import { admin } from "../harness/server.ts";
import { waitFor } from "../harness/wait.ts";
import { HONEST_ACT, HonestAudience } from "./audience.ts";
import { fuzzHttp, type HttpFuzzResult } from "./http-fuzz.ts";
import { FUZZ_ACTS, FUZZ_SHOW, LONG_SHOW } from "./messages.ts";
import { delta, healthWatch, rssBytes, scrape } from "./observe.ts";
import { Oracle } from "./oracle.ts";
import { fuzzWebSocket } from "./ws-fuzz.ts";

export interface FuzzOptions {
  url: string;
  adminToken: string;
  /** Server pid on this machine, for RSS (absent: memory is not checked). */
  pid?: number | undefined;
  frames: number;
  seed: number;
  lanes?: number;
  honestViewers?: number;
  slowloris?: number;
  halfOpen?: number;
  holdMs?: number;
}

/** RSS after the run may exceed the baseline by at most max(RSS_SLACK_BYTES, RSS_SLACK_RATIO x baseline). */
export const RSS_SLACK_BYTES = 48 * 1024 * 1024;
export const RSS_SLACK_RATIO = 0.25;

const FAMILIES = ["buzzcast_closes_total", "buzzcast_v2_decode_errors_total", "buzzcast_connections"];

export async function runFuzz(o: FuzzOptions): Promise<{ summary: Record<string, unknown>; violations: string[] }> {
  const t0 = Date.now();
  const u = new URL(o.url);
  const port = Number(u.port);
  const host = u.hostname;
  const srv = { url: `http://${host}:${port}`, adminToken: o.adminToken };
  const honestShow = `honest-${o.seed >>> 0}-${t0 % 100000}`;
  const acts = FUZZ_ACTS.map((id) => ({ id, name: id }));
  await admin(srv, "PUT", `/api/shows/${FUZZ_SHOW}`, { title: "Fuzz", acts });
  await admin(srv, "POST", `/api/shows/${FUZZ_SHOW}/stage`, { act: "a1", open: true });
  await admin(srv, "PUT", `/api/shows/${LONG_SHOW}`, { title: "Long id", acts });
  await admin(srv, "PUT", `/api/shows/${honestShow}`, { title: "Honest", acts: [{ id: HONEST_ACT, name: "H" }] });
  await admin(srv, "POST", `/api/shows/${honestShow}/stage`, { act: HONEST_ACT, open: true });
  const oracle = new Oracle(new Set([FUZZ_SHOW, LONG_SHOW, "demo"]), honestShow);

  const health = healthWatch(srv.url);
  const audience = await HonestAudience.join(`ws://${host}:${port}/ws`, honestShow, o.honestViewers ?? 8);
  audience.start(250);
  const before = await scrape(srv.url, FAMILIES);
  const rssBefore = o.pid === undefined ? null : rssBytes(o.pid);

  const tWs = Date.now();
  const ws = await fuzzWebSocket({ port, host, frames: o.frames, seed: o.seed, lanes: o.lanes ?? 32, oracle });
  const wsSeconds = (Date.now() - tWs) / 1000;
  const http: HttpFuzzResult = await fuzzHttp({
    port,
    host,
    adminToken: o.adminToken,
    slowloris: o.slowloris ?? 200,
    halfOpen: o.halfOpen ?? 1000,
    holdMs: o.holdMs ?? 3_000,
  });

  const violations: string[] = [...ws.mismatches, ...http.mismatches];
  if (ws.mismatchCount > ws.mismatches.length)
    violations.push(`... and ${ws.mismatchCount - ws.mismatches.length} more WebSocket mismatches`);
  const honest = await audience.settle();
  const live = ((await admin(srv, "GET", `/api/shows/${honestShow}`)) as { totals: Record<string, number> }).totals[HONEST_ACT] ?? 0;
  if (honest.closed > 0) violations.push(`${honest.closed} honest viewers were closed`);
  if (honest.counted !== live) violations.push(`honest audience: acks counted ${honest.counted} != live total ${live}`);
  if (honest.counted !== honest.sent)
    violations.push(`honest audience: ${honest.sent} buzzes sent, ${honest.counted} counted (none may be refused)`);

  // Every fuzz connection gone: only the honest audience remains.
  const viewers = audience.viewers.length;
  await waitFor(async () => (await scrape(srv.url, FAMILIES)).get("buzzcast_connections") === viewers, {
    what: "fuzz connections closed",
    timeoutMs: 20_000,
  }).catch((e: Error) => violations.push(e.message));
  const after = await scrape(srv.url, FAMILIES);
  const metricDeltas = delta(after, before);
  checkMetrics(metricDeltas, ws, violations);

  let rssAfter: number | null = null;
  if (o.pid !== undefined && rssBefore !== null) {
    const bound = rssBefore + Math.max(RSS_SLACK_BYTES, RSS_SLACK_RATIO * rssBefore);
    await waitFor(() => (rssAfter = rssBytes(o.pid!)) <= bound, {
      what: `server RSS back under ${Math.round(bound / 2 ** 20)} MiB`,
      timeoutMs: 15_000,
    }).catch((e: Error) =>
      violations.push(`${e.message} (before ${Math.round(rssBefore / 2 ** 20)} MiB, after ${Math.round((rssAfter ?? 0) / 2 ** 20)} MiB)`),
    );
  }
  audience.close();
  const h = await health.stop();
  violations.push(...h.failures);
  const summary = {
    seed: o.seed,
    framesSent: ws.frames,
    cases: ws.cases,
    framesByCategory: ws.framesByCategory,
    closesObserved: ws.observed,
    metricDeltas,
    http: {
      requests: http.requests,
      byStatus: http.byStatus,
      slowloris: http.slowloris,
      halfOpen: http.halfOpen,
      healthMaxMs: http.healthMaxMsUnderSlowloris,
    },
    honest: { sent: honest.sent, counted: honest.counted, live },
    healthChecks: h.checks,
    crashes: h.failures.length,
    rssBefore,
    rssAfter,
    violations: violations.length,
    wsSeconds: Math.round(wsSeconds * 10) / 10,
    framesPerSecond: Math.round(ws.frames / wsSeconds),
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  };
  return { summary, violations };
}

/** Every close the client saw with one of our codes is counted once under its name; uWS's drops
 *  and v2 decode errors at least as often as the oracle predicted them. */
function checkMetrics(d: Record<string, number>, ws: Awaited<ReturnType<typeof fuzzWebSocket>>, violations: string[]): void {
  const closes = (name: string) => d[`buzzcast_closes_total{code="${name}"}`] ?? 0;
  for (const name of Object.keys(CLOSE) as Array<keyof typeof CLOSE>) {
    const seen = ws.observed[String(CLOSE[name].code)] ?? 0;
    if (closes(name) !== seen)
      violations.push(`buzzcast_closes_total{code="${name}"} grew by ${closes(name)}, clients saw ${seen} closes ${CLOSE[name].code}`);
  }
  for (const [name, n] of Object.entries(ws.predictedHard))
    if (closes(name) < n) violations.push(`${name}: counted ${closes(name)}, expected at least ${n}`);
  const hard = closes("too_large_hard") + closes("invalid_utf8_hard");
  if (hard > (ws.observed["1006"] ?? 0)) violations.push(`${hard} hard drops counted but clients saw ${ws.observed["1006"] ?? 0} drops`);
  let v2 = 0;
  for (const [k, v] of Object.entries(d)) if (k.startsWith("buzzcast_v2_decode_errors_total")) v2 += v;
  if (v2 !== ws.v2BadFrames) violations.push(`buzzcast_v2_decode_errors_total grew by ${v2}, v2 clients saw ${ws.v2BadFrames} closes 4000`);
  for (const [reason, n] of Object.entries(ws.predictedV2Reasons)) {
    const got = d[`buzzcast_v2_decode_errors_total{reason="${reason}"}`] ?? 0;
    if (got < n) violations.push(`v2 decode errors {reason="${reason}"}: ${got}, expected at least ${n}`);
  }
}
