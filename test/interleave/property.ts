/**
 * The harness as a fast-check property: a plan passes when its run ends with no violation. A
 * failing plan is shrunk by fast-check (fewer and earlier actions, fewer faults) to a minimal
 * replay, printed as JSON with the trace of its run; `npm run interleave -- --replay <file>`
 * runs it again.
 */
import fc from "fast-check";
import { planArbitrary, type Plan, type PlanShape } from "./plan.ts";
import { runPlan } from "./world.ts";

export interface Budget {
  runs: number;
  seed: number;
  /** What plans may contain (default: everything). */
  shape?: PlanShape;
  /** Called after each run (progress). */
  onRun?: (steps: number, failed: boolean) => void;
  /** Sweep: called when a failure of a class not seen before occurs (so a bounded run loses nothing). */
  onNewClass?: (c: FailureClass) => void;
}

export interface Failure {
  seed: number;
  path: string | undefined;
  plan: Plan;
  violations: string[];
  trace: string[];
}

/** Runs `runs` plans from `seed`; null when every one passed, else the minimal failing plan. */
export async function explore(b: Budget): Promise<Failure | null> {
  const property = fc.asyncProperty(planArbitrary(b.shape), async (plan) => {
    const r = await runPlan(plan);
    b.onRun?.(r.steps, r.violations.length > 0);
    return r.violations.length === 0;
  });
  const out = await fc.check(property, {
    numRuns: b.runs,
    seed: b.seed,
    endOnFailure: false,
    markInterruptAsFailure: false,
  });
  if (!out.failed || out.counterexample === null) return null;
  const [plan] = out.counterexample;
  const replay = await runPlan(plan, { trace: true });
  return { seed: b.seed, path: out.counterexamplePath ?? undefined, plan, violations: replay.violations, trace: replay.trace };
}

/** A failure as the text a developer needs: what broke, the plan to replay, and what happened. */
export function describe(f: Failure): string {
  return [
    `interleaving harness: seed ${f.seed} fails${f.path ? ` (fast-check path ${f.path})` : ""}`,
    "violations:",
    ...f.violations.map((v) => `  - ${v}`),
    "minimal replay (npm run interleave -- --replay <file with this JSON>):",
    JSON.stringify(f.plan),
    "trace of the replay:",
    ...f.trace.map((l) => `  ${l}`),
  ].join("\n");
}

/** One class of failure seen while sweeping: how many plans hit it, and the first one. */
export interface FailureClass {
  signature: string;
  plans: number;
  first: { index: number; plan: Plan; violations: string[] };
}

/**
 * Runs `runs` plans drawn from `seed` without stopping at a failure (no shrinking): the long
 * sweep that counts interleavings. Failures are grouped by their violations with the keys and
 * numbers taken out; replay a class's first plan with --replay to shrink and trace it.
 */
export async function sweep(b: Budget): Promise<{ runs: number; steps: number; failed: number; classes: FailureClass[] }> {
  const classes = new Map<string, FailureClass>();
  let steps = 0;
  let failed = 0;
  const plans = fc.sample(planArbitrary(b.shape), { seed: b.seed, numRuns: b.runs });
  for (const [index, plan] of plans.entries()) {
    const r = await runPlan(plan);
    steps += r.steps;
    b.onRun?.(r.steps, r.violations.length > 0);
    if (r.violations.length === 0) continue;
    failed++;
    const signature = [...new Set(r.violations.map(signatureOf))].sort().join(" | ");
    const c = classes.get(signature);
    if (c) c.plans++;
    else {
      const fresh = { signature, plans: 1, first: { index, plan, violations: r.violations } };
      classes.set(signature, fresh);
      b.onNewClass?.(fresh);
    }
  }
  return { runs: plans.length, steps, failed, classes: [...classes.values()] };
}

function signatureOf(v: string): string {
  return v
    .replace(/s\d+\|[^|]+\|a\d+/g, "<act>")
    .replace(/epoch \S+/g, "epoch <e>")
    .replace(/v:\d+/g, "<viewer>")
    .replace(/node \d+/g, "node N")
    .replace(/\d+/g, "#");
}
