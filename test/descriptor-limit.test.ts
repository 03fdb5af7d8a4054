/**
 * Near the process's descriptor limit (RLIMIT_NOFILE) a node refuses new WebSocket upgrades at the
 * upgrade (503 server_full + Retry-After + JSON error, counted) instead of letting `accept` fail with
 * EMFILE. The server runs under `prlimit --nofile=LIMIT:LIMIT`: with the margin
 * max(64, 2% of the limit) it admits LIMIT - 64 WebSockets; the test holds them all, then tries
 * EXTRA more (past the limit itself), and asserts: every extra upgrade is answered 503 server_full,
 * the HTTP API still answers, the viewers already in still get totals, and while refused upgrades
 * keep arriving the server is mostly asleep: its threads' on-CPU plus run-queue time
 * (/proc/<pid>/task/<tid>/schedstat) over the window is far below the window (a loop on EMFILE
 * is runnable all the time, however busy the box is). With WORKERS=2 the node's capacity metric
 * is the sum of the two workers' equal shares.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import WebSocket from "ws";
import { descriptorBudget } from "../server/transport/descriptor-limit.ts";
import { admin, startServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const LIMIT = 256;
const EXTRA = 80;
const ATTEMPT_TIMEOUT_MS = 5_000;

interface Attempt {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
}

/** One upgrade: 101 (kept open, returned), the refusal, or status 0 when nothing answered in time. */
function attempt(url: string): Promise<{ result: Attempt; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ result: { status: 0, retryAfter: undefined, code: undefined }, ws });
    }, ATTEMPT_TIMEOUT_MS);
    ws.on("open", () => {
      clearTimeout(timer);
      resolve({ result: { status: 101, retryAfter: undefined, code: undefined }, ws });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => {
        clearTimeout(timer);
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ result: { status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], code }, ws });
      });
    });
    ws.on("error", () => {});
  });
}

/** An HTTP GET that fails after 5 s instead of hanging (a server stuck on EMFILE never answers). */
function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(5_000) });
}

/** Nanoseconds every thread of `pid` spent on a CPU or waiting for one (schedstat fields 1 + 2). */
function runnableNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
      sum += Number(onCpu) + Number(waiting);
    } catch {
      // the thread exited between the listing and the read: it is runnable no more
    }
  }
  return sum;
}

async function refusedServerFull(url: string): Promise<number> {
  const text = await (await get(`${url}/metrics`)).text();
  const m = /^buzzcast_upgrades_refused_total\{reason="server_full"\} (\d+)/m.exec(text);
  assert.ok(m, 'buzzcast_upgrades_refused_total{reason="server_full"} exists');
  return Number(m[1]);
}

test(
  `under RLIMIT_NOFILE=${LIMIT}: upgrades past the descriptor cap get 503 server_full, HTTP and viewers carry on, no busy loop`,
  { timeout: 180_000 },
  async (t) => {
    const cap = descriptorBudget(LIMIT, 1).perWorker;
    const srv = await startServer(
      { TICK_MS: "100", HELLO_TIMEOUT_MS: "600000", MAX_CONNECT_RATE: "0", MAX_CONNECT_RATE_PER_IP: "0" },
      20_000,
      { exec: ["prlimit", `--nofile=${LIMIT}:${LIMIT}`, "--"] },
    );
    const held: WebSocket[] = [];
    const viewers: TestViewer[] = [];
    try {
      const metricsText = await (await get(`${srv.url}/metrics`)).text();
      assert.match(metricsText, new RegExp(`^buzzcast_connection_capacity ${cap}$`, "m"), "the cap is derived from the limit");

      const a = await TestViewer.join(srv.wsUrl, "demo");
      const b = await TestViewer.join(srv.wsUrl, "demo");
      viewers.push(a, b);
      const act = a.welcome!.show.acts[0]!.id;
      await admin(srv, "POST", "/api/shows/demo/stage", { act, open: true });

      // Fill up to the cap (the two viewers hold two of its connections).
      for (let i = viewers.length; i < cap; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, cap - i) }, () => attempt(srv.wsUrl)));
        for (const { result, ws } of batch) {
          assert.equal(result.status, 101, "upgrades below the cap are admitted");
          held.push(ws);
        }
      }
      const refused0 = await refusedServerFull(srv.url);

      // Past the cap and past the descriptor limit itself, all at once.
      const extra = await Promise.all(Array.from({ length: EXTRA }, () => attempt(srv.wsUrl)));
      for (const { ws } of extra) held.push(ws);
      const statuses = extra.map((e) => `${e.result.status} ${e.result.code ?? ""}`);
      assert.deepEqual(
        [...new Set(statuses)],
        ["503 server_full"],
        `every upgrade past the cap is refused with 503 server_full (seen: ${[...new Set(statuses)].join(", ")})`,
      );
      for (const e of extra) assert.ok(Number(e.result.retryAfter) >= 1, "a 503 carries Retry-After");
      assert.equal((await refusedServerFull(srv.url)) - refused0, EXTRA, "each refusal is counted");

      // The HTTP API keeps answering and the viewers in keep getting totals.
      assert.equal((await get(`${srv.url}/healthz`)).status, 200);
      assert.equal((await get(`${srv.url}/api/shows/demo`)).status, 200);
      const before = a.totals[act] ?? 0;
      a.buzz(act);
      await waitFor(() => (a.totals[act] ?? 0) === before + 1 && (b.totals[act] ?? 0) === before + 1, {
        what: "both viewers see the buzz in the totals",
      });

      // Refused upgrades keep arriving (20 a second): the server is runnable only a fraction of the time.
      const pid = srv.proc.pid!;
      const windowMs = 3_000;
      const run0 = runnableNs(pid);
      const t0 = process.hrtime.bigint();
      let refusedInWindow = 0;
      while (Number(process.hrtime.bigint() - t0) / 1e6 < windowMs) {
        const { result, ws } = await attempt(srv.wsUrl);
        ws.terminate();
        if (result.status === 503 && result.code === "server_full") refusedInWindow++;
        await new Promise((r) => setTimeout(r, 50));
      }
      const share = (runnableNs(pid) - run0) / Number(process.hrtime.bigint() - t0);
      t.diagnostic(JSON.stringify({ cap, refusedInWindow, runnableShare: Number(share.toFixed(3)) }));
      assert.ok(refusedInWindow > 0, "upgrades were refused during the window");
      assert.ok(share < 0.5, `the server was runnable ${(share * 100).toFixed(0)}% of the window (a busy loop is ~100%)`);
      assert.equal((await get(`${srv.url}/healthz`)).status, 200, "still answering after the window");
    } finally {
      for (const ws of held) ws.terminate();
      for (const v of viewers) v.close();
      assert.equal(await srv.stop(), 0);
    }
  },
);

test(
  "with worker threads each takes an equal share of the one descriptor table: the node's capacity is their sum",
  { timeout: 60_000 },
  async () => {
    const limit = 1000;
    const srv = await startServer({ WORKERS: "2" }, 30_000, { exec: ["prlimit", `--nofile=${limit}:${limit}`, "--"] });
    try {
      const share = descriptorBudget(limit, 2).perWorker;
      assert.equal(share, 468, "floor((1000 - 64) / 2)");
      await waitFor(
        async () => new RegExp(`^buzzcast_connection_capacity ${2 * share}$`, "m").test(await (await get(`${srv.url}/metrics`)).text()),
        {
          what: `buzzcast_connection_capacity ${2 * share} (both workers' shares)`,
        },
      );
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  },
);
