/**
 * The big-show option of fanout (`--acts N --seed-total T`): a fresh show of N acts whose totals all
 * reach T before the measured phase, so totals frames are the size they would be late in a real
 * show (10 acts with 7-digit totals is the v2 bandwidth target's case). buzzcast gets the show
 * through the admin API and is seeded by flooding each act in turn from the audience's own
 * connections; the bare-uWS baselines are given the same show through ACTS and SEED_TOTAL.
 */
import type { Act } from "../../shared/protocol.ts";
import type { BenchOptions } from "../run/options.ts";
import { putShow, setStage } from "../run/show-api.ts";
import type { SystemUnderTest } from "../run/system-under-test.ts";
import { countedTotals } from "./counted.ts";
import { sleep, type Session } from "./session.ts";

/** Connections that flood while seeding (a few: the server's parsing ceiling, not the audience). */
const SEED_SENDERS = 32;
const SEED_TIMEOUT_MS_PER_ACT = 120_000;

export function benchActs(n: number): Act[] {
  return Array.from({ length: n }, (_, i) => ({ id: `act-${i + 1}`, name: `Bench act ${i + 1}` }));
}

/** Creates the show on buzzcast (voting closed); returns its id. Baselines have theirs from the environment. */
export async function createBigShow(opts: BenchOptions, sut: SystemUnderTest): Promise<string> {
  if (sut.kind !== "buzzcast") return "demo";
  const token = opts.adminToken ?? sut.adminToken;
  if (token === null) throw new Error("--acts creates a show: pass --admin-token (or use --start)");
  const show = `bench-${Date.now().toString(36)}`;
  await putShow(sut.httpUrls[0]!, token, show, { title: "Bench big show", acts: benchActs(opts.acts) });
  await setStage(sut.httpUrls[0]!, token, show, { act: null, open: false });
  return show;
}

/**
 * Floods each act until the server's total reaches `opts.seedTotal` (it may overshoot by what was in
 * flight), then puts act-1 on stage with voting open. The session's connections must be ready.
 */
export async function seedBigShow(s: Session): Promise<void> {
  const { opts, sut } = s;
  if (sut.kind !== "buzzcast") return;
  const http = sut.httpUrls[0]!;
  const token = (opts.adminToken ?? sut.adminToken)!;
  for (const act of benchActs(opts.acts)) {
    if (opts.seedTotal === 0) break;
    s.sampler.phase = `seed ${act.id}`;
    await setStage(http, token, s.show, { act: act.id, open: true });
    await sleep(2 * opts.tickMs); // every node sees voting open before the first buzz
    s.fleet.load({ mode: "flood", ratePerSec: 0, act: act.id, senders: SEED_SENDERS, batchFrames: opts.batch });
    const deadline = performance.now() + SEED_TIMEOUT_MS_PER_ACT;
    while (((await countedTotals(sut, s.show)).byAct[act.id] ?? 0) < opts.seedTotal) {
      if (performance.now() > deadline) throw new Error(`seeding ${act.id} to ${opts.seedTotal} took over ${SEED_TIMEOUT_MS_PER_ACT} ms`);
      await sleep(200);
    }
    s.fleet.load(null);
    await s.fleet.waitUntil((t) => t.ackCounted + t.ackRejected >= t.buzzesSent, 30_000, `acks for the seed of ${act.id}`);
  }
  await setStage(http, token, s.show, { act: "act-1", open: true });
  await sleep(2 * opts.tickMs);
}

/** Environment for a started baseline that serves the same show (bare uWS reads ACTS and SEED_TOTAL). */
export function bigShowEnv(opts: BenchOptions): Record<string, string> {
  return opts.acts > 0 ? { ACTS: String(opts.acts), SEED_TOTAL: String(opts.seedTotal) } : {};
}
