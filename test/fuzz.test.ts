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
import { caseBatch } from "./fuzz/cases.ts";
import { FUZZ_SHOW, LONG_SHOW } from "./fuzz/messages.ts";
import { Oracle } from "./fuzz/oracle.ts";
import { runRaw } from "./fuzz/raw-ws.ts";

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

/**
 * The one violation of the 1,000,000-frame run (seed 1 batch 5959 case 38): a ping with a 275-byte
 * payload in the 16-bit length form, which uWS must drop. It does, at once; the run had given it
 * only 150 ms on a loaded box before closing itself. Replayed 64 times at once, each must end in a
 * drop (1006), never in our own close after the settle time.
 */
test("the 1M run's finding replayed: an oversized ping is dropped by the server, not left open", async () => {
  const oracle = new Oracle(new Set([FUZZ_SHOW, LONG_SHOW, "demo"]), "honest");
  const c = caseBatch(1, 5959, 64, oracle)[38]!;
  assert.equal(c.category, "framing");
  assert.equal(c.expect, "drop");
  assert.equal(c.chunks[0]![0], 0x89, "a ping (FIN + opcode 9)");
  assert.equal(c.chunks[0]![1]! & 0x7f, 126, "with the 16-bit extended length");
  const outs = await Promise.all(Array.from({ length: 64 }, () => runRaw({ port: srv.port, settleMs: 5_000 }, c.chunks)));
  assert.deepEqual(new Set(outs.map((o) => o.closeCode)), new Set([1006]));
});
