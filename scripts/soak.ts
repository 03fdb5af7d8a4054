/**
 * The chaos soak (docs/soak.md): `npm run soak -- --minutes N --seed S`.
 * Two phases on fresh simulated-host deployments, each with its own seeded fault and stage
 * schedules: BUZZ_POLICY=unlimited for 60% of the minutes (steady load: every SIGKILL lands mid-batch),
 * then BUZZ_POLICY=once for 40% (every viewer keeps pressing: duplicates across reconnects and nodes).
 * Progress lines go to stdout; the LAST line is the one-line JSON summary. Exit code 0 only when
 * no invariant was violated in any phase.
 */
import { parseArgs } from "node:util";
import { runPhase, type PhaseResult } from "../test/soak/phase.ts";
import { p99 } from "../test/soak/probe.ts";
import { Rng } from "../test/soak/rng.ts";

export interface SoakSummary {
  seed: number;
  minutes: number;
  ok: boolean;
  faults: number;
  faultKinds: Record<string, number>;
  /** Producer races (two nodes, one show, one moment): how many, changes answered 409, races both answered ok. */
  adminRaces: { races: number; conflicts: number; bothOk: number };
  buzzesAcked: number;
  counted: number;
  live: number;
  record: number;
  /** Buzzes acked as counted and missing from the record (must be 0, SIGKILLs included). */
  lost: number;
  kills: PhaseResult["kills"];
  overCounted: number;
  duplicateViewers: number;
  decreases: number;
  visibilityP99Ms: { outside: number | null; during: number | null };
  visibilitySamples: { outside: number; during: number; unseen: number };
  violations: string[];
}

export function summarise(seed: number, minutes: number, phases: readonly PhaseResult[]): SoakSummary {
  const sum = (f: (p: PhaseResult) => number): number => phases.reduce((n, p) => n + f(p), 0);
  const merge = (f: (p: PhaseResult) => Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const p of phases) for (const [k, v] of Object.entries(f(p))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const outside = phases.flatMap((p) => p.vis.outside);
  const during = phases.flatMap((p) => p.vis.during);
  const violations = phases.flatMap((p) => p.violations.map((v) => `${p.policy}: ${v}`));
  if (outside.length === 0) violations.push("no visibility sample outside faults");
  return {
    seed,
    minutes,
    ok: violations.length === 0,
    faults: sum((p) => p.faults),
    faultKinds: merge((p) => p.faultKinds),
    adminRaces: { races: sum((p) => p.races.races), conflicts: sum((p) => p.races.conflicts), bothOk: sum((p) => p.races.bothOk) },
    buzzesAcked: sum((p) => p.answered),
    counted: sum((p) => p.acked),
    live: sum((p) => p.counted),
    record: sum((p) => p.record),
    lost: sum((p) => p.lost),
    kills: phases.flatMap((p) => p.kills),
    overCounted: sum((p) => p.overCounted),
    duplicateViewers: sum((p) => p.duplicateViewers),
    decreases: sum((p) => p.decreases.length),
    visibilityP99Ms: { outside: p99(outside), during: p99(during) },
    visibilitySamples: { outside: outside.length, during: during.length, unseen: sum((p) => p.vis.unseen) },
    violations,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { minutes: { type: "string", default: "3" }, seed: { type: "string", default: "1" } } });
  const minutes = Number(values.minutes);
  const seed = Number(values.seed);
  if (!(minutes > 0) || !Number.isInteger(seed)) throw new Error("usage: npm run soak -- --minutes N --seed S (N > 0, S an integer)");
  const rng = new Rng(seed);
  const log = (line: string): void => console.log(`soak: ${line}`);
  const total = minutes * 60_000;
  const phases: PhaseResult[] = [];
  for (const [policy, share, viewersPerShow, pace] of [
    ["unlimited", 0.6, 8, [20, 150]],
    ["once", 0.4, 20, [100, 400]],
  ] as const) {
    log(`phase ${policy}: ${Math.round((total * share) / 1000)} s`);
    const r = await runPhase({ policy, ms: total * share, rng: rng.fork(), viewersPerShow, pace: [pace[0], pace[1]], log });
    log(`phase ${policy}: ${JSON.stringify({ ...r, acts: undefined, decreases: r.decreases.length, vis: undefined })}`);
    for (const a of r.acts) log(`phase ${policy} ${a.show}/${a.act}: ${JSON.stringify(a)}`);
    phases.push(r);
  }
  const s = summarise(seed, minutes, phases);
  console.log(JSON.stringify(s));
  return s.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
    process.exit(2);
  },
);
