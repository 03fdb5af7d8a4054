/**
 * The deterministic interleaving harness (test/interleave/): real store, claim decider, close
 * reconciliation and show registry on faulty in-memory backends under a seeded virtual clock.
 *
 *   npm run interleave -- --runs 10000 --seed 7     explore 10,000 plans from seed 7
 *   npm run interleave -- --replay plan.json        run one plan (a printed minimal replay, or a saved
 *                                                   finding's file) with its trace
 *   npm run interleave -- --runs 100000 --seed 1 --keep-going
 *                                                   sweep without stopping or shrinking; failures by class
 *   --no-losses, --no-producers                     plans without flush_all / without producer changes
 *
 * Exit code 1 when a plan fails; the minimal replay and its trace are printed.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { describe, explore, sweep } from "../test/interleave/property.ts";
import type { Plan } from "../test/interleave/plan.ts";
import { runPlan } from "../test/interleave/world.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000" },
    seed: { type: "string", default: String(Date.now() % 0x7fffffff) },
    replay: { type: "string" },
    "keep-going": { type: "boolean", default: false },
    "no-losses": { type: "boolean", default: false },
    "no-producers": { type: "boolean", default: false },
  },
});

if (values.replay !== undefined) {
  // A plan, or a saved finding ({finding, plan}: test/interleave/replays, open-findings).
  const raw = JSON.parse(readFileSync(values.replay, "utf8")) as Plan | { plan: Plan };
  const plan = "plan" in raw ? raw.plan : raw;
  const r = await runPlan(plan, { trace: true });
  for (const l of r.trace) console.log(l);
  console.log(r.violations.length === 0 ? "ok: no violation" : `violations:\n${r.violations.map((v) => `  - ${v}`).join("\n")}`);
  process.exit(r.violations.length === 0 ? 0 : 1);
}

const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error("usage: npm run interleave -- --runs N --seed S | --replay plan.json");
  process.exit(2);
}
const shape = { losses: !values["no-losses"], producers: !values["no-producers"] };
const started = Date.now();
let done = 0;
let steps = 0;
let failures = 0;
function progress(s: number, failed: boolean): void {
  done++;
  steps += s;
  if (failed) failures++;
  if (done % 1000 === 0) console.log(`${done} runs, ${failures} failed, ${steps} events, ${Math.round((Date.now() - started) / 1000)} s`);
}
if (values["keep-going"]) {
  const r = await sweep({
    runs,
    seed,
    shape,
    onRun: progress,
    onNewClass: (c) =>
      console.log(`new failure class at plan #${c.first.index}: ${c.first.violations.join("; ")}\n  ${JSON.stringify(c.first.plan)}`),
  });
  for (const c of r.classes) {
    console.log(`class (${c.plans} plans): ${c.signature}`);
    console.log(`  first: plan #${c.first.index}: ${c.first.violations.join("; ")}`);
    console.log(`  ${JSON.stringify(c.first.plan)}`);
  }
  console.log(
    `${r.failed === 0 ? "ok" : "FAILED"}: ${r.runs} plans from seed ${seed}, ${r.failed} failed, ${r.steps} events, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  process.exit(r.failed === 0 ? 0 : 1);
}
const failure = await explore({
  runs,
  seed,
  shape,
  onRun: progress,
});
const summary = `${runs} plans from seed ${seed}: ${done} runs (with shrinking), ${steps} events, ${Math.round((Date.now() - started) / 1000)} s`;
if (failure === null) {
  console.log(`ok: ${summary}`);
  process.exit(0);
}
console.log(describe(failure));
console.log(summary);
process.exit(1);
