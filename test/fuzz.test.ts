/**
 * CI fuzz run (docs/fuzzing.md): 100,000 WebSocket frames from a fixed seed plus the HTTP cases,
 * slowloris and half-open connections, against a node started here, with an honest audience
 * buzzing beside it. Fails on any violation: a crash or failed /healthz, an honest total that is
 * not exactly the acknowledged count, a close code other than the oracle's, a close not counted in
 * /metrics, or server RSS not back near its baseline.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningServer } from "./harness/server.ts";
import { runFuzz } from "./fuzz/run.ts";

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);

let srv: RunningServer;
before(async () => {
  srv = await startServer({ BUZZ_POLICY: "unlimited" });
});
after(async () => {
  assert.equal(await srv.stop(), 0, "the node drains and exits 0 after the fuzz run");
});

test(`fuzz: ${FRAMES} frames (seed ${SEED}) and the HTTP cases leave the node up, the honest totals exact, every close counted`, async (t) => {
  const { summary, violations } = await runFuzz({
    url: srv.wsUrl,
    adminToken: srv.adminToken,
    pid: srv.proc.pid,
    frames: FRAMES,
    seed: SEED,
  });
  t.diagnostic(JSON.stringify(summary));
  assert.deepEqual(violations, []);
  assert.ok((summary.framesSent as number) >= FRAMES);
  assert.equal(srv.proc.exitCode, null, "the node is still running");
  const honest = summary.honest as { sent: number; counted: number; live: number };
  assert.ok(honest.sent > 0 && honest.counted === honest.live, "the honest audience buzzed and every counted buzz is in the live total");
});
