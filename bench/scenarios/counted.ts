/**
 * The server's own count of buzzes (GET /api/shows/:show), and waiting for it to settle after the
 * load stops (frames still in socket buffers are counted for a while after the last send).
 * Servers the bench started with --nodes K are independent (embedded stores): their totals add up.
 * Servers given by --url may share their state: only the first is asked.
 */
import { getShowState, sumTotals } from "../run/show-api.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { sleep } from "./session.ts";

export async function countedTotals(sut: SystemUnderTest, show: string): Promise<{ sum: number; byAct: Record<string, number> }> {
  const urls = sut.startedByBench ? sut.httpUrls : sut.httpUrls.slice(0, 1);
  const byAct: Record<string, number> = {};
  for (const url of urls) {
    const st = await getShowState(url, show);
    for (const [act, v] of Object.entries(st.totals)) byAct[act] = (byAct[act] ?? 0) + v;
  }
  return { sum: sumTotals(byAct), byAct };
}

/**
 * Polls until the count reaches `expected` or stops moving for `quietMs`, at most `maxMs`.
 * Returns the final sum and when it last changed (performance.now()).
 */
export async function settleCount(
  sut: SystemUnderTest,
  show: string,
  expected: number,
  quietMs = 2000,
  maxMs = 30_000,
): Promise<{ sum: number; lastChangeMs: number }> {
  const t0 = performance.now();
  let last = (await countedTotals(sut, show)).sum;
  let lastChangeMs = performance.now();
  while (last < expected && performance.now() - lastChangeMs < quietMs && performance.now() - t0 < maxMs) {
    await sleep(100);
    const now = (await countedTotals(sut, show)).sum;
    if (now !== last) {
      last = now;
      lastChangeMs = performance.now();
    }
  }
  return { sum: last, lastChangeMs };
}
