/**
 * A drain works at any moment of a node's life, start-up included, and a worker crash never takes
 * the node down: with WORKERS=2 a worker thread must not end while uWebSockets.js still holds a
 * socket (libuv aborts the whole process), and a signal that arrives before the node listens must
 * still drain. The moments are drawn from a seeded generator, so a failing run can be replayed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { CLOSE } from "../shared/codes.ts";
import { freePort } from "./harness/memcached.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { metricValue, waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SEED = Number(process.env.DRAIN_ANYTIME_SEED ?? 18);

/** mulberry32: a small seeded generator, enough to replay the moments of a run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Spawned {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** The node as `npm start` runs it, on a port chosen here so the test can reach it before it logs `listening`. */
function spawnNode(port: number, env: Record<string, string>): Spawned {
  const proc = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", ADMIN_TOKEN: "drain-anytime-token", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = once(proc, "exit").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { proc, exited, stderr: () => stderr };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

test("SIGTERM at seeded moments from start-up on (WORKERS=2): every viewer closed with 1001, exit 0, never a signal death", async () => {
  const rnd = seeded(SEED);
  for (let run = 0; run < 20; run++) {
    const delayMs = 50 + Math.floor(rnd() * 1450);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const node = spawnNode(port, { WORKERS: "2", DRAIN_SPREAD_MS: "100", TICK_MS: "50" });
    const what = `run ${run} (seed ${SEED}, SIGTERM ${delayMs} ms after the burst began)`;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    void node.exited.then((e) => (exit = e));
    await waitFor(async () => exit !== null || (await healthy(url)), { what: `${what}: /healthz`, intervalMs: 5, timeoutMs: 30_000 });
    assert.equal(exit, null, `${what}: exited before answering /healthz\n${node.stderr()}`);
    // The burst: 60 viewers at once; the signal comes while some are still joining.
    const viewers: TestViewer[] = [];
    const joins = Array.from({ length: 60 }, async () => {
      const v = new TestViewer(`ws://127.0.0.1:${port}/ws`);
      await v.opened;
      viewers.push(v);
      v.send({ type: "hello", protocol: 1, show: "demo" });
    });
    const joined = Promise.allSettled(joins);
    await new Promise((r) => setTimeout(r, delayMs));
    node.proc.kill("SIGTERM");
    const end = await node.exited;
    await joined;
    assert.deepEqual(end, { code: 0, signal: null }, `${what}: clean exit\n${node.stderr().slice(-3000)}`);
    const codes = await Promise.all(viewers.map((v) => v.closed));
    const wrong = codes.filter((c) => c !== CLOSE.draining.code);
    assert.equal(wrong.length, 0, `${what}: ${viewers.length} opened; closes other than 1001: ${wrong.join(",")}`);
  }
});

test("20 worker-crash drills under steady buzzing: the node never dies, acked counted == totals within the crashed worker's window", async () => {
  const srv: RunningServer = await startServer({ WORKERS: "2", TICK_MS: "50", BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" }, 60_000);
  let stderr = "";
  srv.proc.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const all: TestViewer[] = [];
  const live = new Set<TestViewer>();
  const join = async (): Promise<void> => {
    const v = await TestViewer.join(srv.wsUrl, "demo");
    all.push(v);
    live.add(v);
    void v.closed.then(() => live.delete(v));
  };
  await Promise.all(Array.from({ length: 40 }, join));
  let buzzing = true;
  const buzzer = (async () => {
    while (buzzing) {
      for (const v of live) if (v.ws.readyState === v.ws.OPEN) v.buzz("act-1");
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const rnd = seeded(SEED + 1);
  try {
    for (let drill = 1; drill <= 20; drill++) {
      // Crash at a seeded moment of a worker's service (not always right after its restart).
      await new Promise((r) => setTimeout(r, 50 + Math.floor(rnd() * 250)));
      srv.proc.kill("SIGUSR2");
      await waitFor(
        async () =>
          srv.proc.exitCode !== null ||
          srv.proc.signalCode !== null ||
          (await metricValue(srv, "buzzcast_worker_restarts_total")) === drill,
        {
          what: `drill ${drill}: worker 0 restarted`,
          timeoutMs: 20_000,
        },
      );
      assert.equal(srv.proc.signalCode, null, `drill ${drill}: the node is alive\n${stderr.slice(-3000)}`);
      await waitFor(async () => (await metricValue(srv, "buzzcast_workers_ready")) === 2, {
        what: `drill ${drill}: both workers ready`,
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      assert.equal(srv.proc.signalCode, null, `drill ${drill}: the node is alive\n${stderr.slice(-3000)}`);
      // Viewers the crash cut off come back, as real clients do.
      await Promise.all(Array.from({ length: 40 - live.size }, join));
    }
  } finally {
    buzzing = false;
    await buzzer;
  }
  // Settle: every buzz of a live connection acknowledged.
  for (const v of live) await v.until(() => v.lastAck?.seq === v.sentSeq, "every buzz of a live viewer acked", 10_000);
  const acked = all.reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
  const unackedOnCut = all.filter((v) => !live.has(v)).reduce((n, v) => n + v.sentSeq - (v.lastAck?.seq ?? 0), 0);
  // Live totals are published a few ms after the flush whose acks just went out: wait for them.
  // An acknowledged buzz lost to a crash would keep the total below the acks for good.
  const readTotal = async (): Promise<number> =>
    ((await (await fetch(`${srv.url}/api/shows/demo`)).json()) as { totals: Record<string, number> }).totals["act-1"] ?? 0;
  let total = 0;
  await waitFor(async () => (total = await readTotal()) >= acked, {
    what: `no acknowledged buzz lost: total >= acked ${acked}`,
    timeoutMs: 5000,
  });
  assert.ok(
    total <= acked + unackedOnCut,
    `at most the crashed workers' unacknowledged buzzes beyond the acks: ${total} <= ${acked} + ${unackedOnCut}`,
  );
  const exit = srv.stop("SIGTERM");
  for (const v of live) assert.equal(await v.closed, CLOSE.draining.code);
  assert.equal(await exit, 0, stderr.slice(-3000));
  assert.equal(srv.proc.signalCode, null);
});
