/**
 * CI chaos soak (docs/soak.md): `scripts/soak.ts --minutes 3` with a fixed seed, as `npm run soak`
 * runs it: simulated hosts, an audience with tokens under both buzz policies, producers changing
 * the stage, seeded overlapping faults. Asserts the exit code and the one-line summary: no
 * over-count, nobody twice, no decrease, nothing acknowledged lost (SIGKILLs included: lost 0,
 * live == record), visibility measured.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 3);
const SEED = Number(process.env.SOAK_SEED ?? 20_261_129);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

test(`soak: ${MINUTES} minutes, seed ${SEED}: every invariant holds`, { timeout: (MINUTES * 60 + 300) * 1000 }, async (t) => {
  const proc = spawn(process.execPath, ["--import", "tsx", "scripts/soak.ts", "--minutes", String(MINUTES), "--seed", String(SEED)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
  // the whole log (every fault and stage change with its time) for whoever reads a failure
  mkdirSync(`${ROOT}test-artifacts`, { recursive: true });
  writeFileSync(`${ROOT}test-artifacts/soak-${SEED}.log`, out + err);
  const lines = out.trim().split("\n");
  const last = lines.at(-1) ?? "";
  t.diagnostic(last);
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(last) as Record<string, unknown>;
  } catch {
    assert.fail(`the last line is not the JSON summary: ${last}\n${lines.slice(-20).join("\n")}\n${err.slice(-4000)}`);
  }
  assert.deepEqual(s.violations, [], `violations (whole log: test-artifacts/soak-${SEED}.log); log tail:\n${lines.slice(-30).join("\n")}`);
  assert.equal(code, 0, `exit code; stderr: ${err.slice(-4000)}`);
  assert.ok((s.faults as number) >= 10, `faults injected: ${s.faults as number}`);
  assert.ok((s.counted as number) > 1000, `counted buzzes: ${s.counted as number}`);
  assert.ok((s.buzzesAcked as number) >= (s.counted as number));
  assert.equal(s.overCounted, 0);
  assert.equal(s.duplicateViewers, 0);
  assert.equal(s.decreases, 0);
  assert.equal(s.lost, 0, "every buzz acknowledged as counted is in the record, SIGKILLs included");
  assert.ok((s.kills as unknown[]).length > 0, "the schedule killed a node at least once");
  assert.equal(s.live, s.record, "live == record at the end of every phase");
  const vis = s.visibilityP99Ms as { outside: number | null; during: number | null };
  assert.ok(vis.outside !== null && vis.outside > 0, "visibility measured outside faults");
});
