/**
 * The deterministic interleaving harness in CI (test/interleave/, docs/interleaving.md): the real
 * shared store, claim decider, close reconciliation and show registry of several nodes on faulty
 * in-memory memcached and record links, under a seeded virtual clock. A fixed budget of plans from
 * fixed seeds (seconds), then every minimal replay the harness has found so far.
 * `npm run interleave -- --runs N --seed S` explores more.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describe, explore } from "./interleave/property.ts";
import { replays } from "./interleave/replays.ts";
import { runPlan } from "./interleave/world.ts";

const SEEDS = [20261207, 17, 4242];
const RUNS_PER_SEED = 40;

for (const seed of SEEDS) {
  test(`interleavings: ${RUNS_PER_SEED} plans from seed ${seed} end exact (live == record == audit == acks; no decrease, no double count)`, async () => {
    const failure = await explore({ runs: RUNS_PER_SEED, seed });
    assert.equal(failure, null, failure ? describe(failure) : "");
  });
}

for (const r of replays()) {
  test(`interleaving replay ${r.name}: ${r.finding}`, async () => {
    const out = await runPlan(r.plan, { trace: true });
    assert.deepEqual(out.violations, [], out.trace.join("\n"));
  });
}
