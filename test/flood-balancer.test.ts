/**
 * A connection flood must never empty the balancer. Two nodes at MAX_CONNECT_RATE=50 behind a real
 * HAProxy (deploy/haproxy.cfg, agent checks on), a flood of 150 upgrades per second for 8 s: both
 * nodes shed (503 to the excess), yet both stay UP in HAProxy for the whole flood (its stats socket,
 * polled, and its log: no server ever goes DOWN), each node's agent lowers its weight while it sheds
 * and restores it after, and a real viewer connects and is welcomed while the flood lasts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningServer } from "./harness/server.ts";
import { startHaproxy, type RunningHaproxy, type ServerStat } from "./harness/haproxy.ts";
import { freePort } from "./harness/memcached.ts";
import { tryUpgrade, type Attempt } from "./harness/upgrade.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { waitFor } from "./harness/wait.ts";

const FLOOD_PER_SEC = 150;
const FLOOD_MS = 8000;

let nodes: RunningServer[] = [];
let lb: RunningHaproxy;

before(async () => {
  const agentPorts = [await freePort(), await freePort()];
  nodes = await Promise.all(agentPorts.map((p) => startServer({ MAX_CONNECT_RATE: "50", AGENT_PORT: String(p) })));
  lb = await startHaproxy(nodes.map((n, i) => ({ port: n.port, agentPort: agentPorts[i]! })));
  await lb.waitForStats((s) => s.length === 2 && s.every((x) => x.status === "UP" && x.weight === 100), "both nodes UP at full weight");
});

after(async () => {
  await lb?.stop();
  for (const n of nodes) assert.equal(await n.stop(), 0);
});

/** A viewer that retries (jittered backoff, as the client library does) until it is welcomed. */
async function joinWithRetries(url: string, until: number): Promise<TestViewer> {
  for (let attempt = 0; Date.now() < until; attempt++) {
    try {
      return await TestViewer.join(url, "demo", "real-viewer");
    } catch {
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200 * Math.min(attempt + 1, 5)));
    }
  }
  throw new Error("the real viewer never got in while the flood lasted");
}

test("a connection flood over every node's MAX_CONNECT_RATE keeps every node UP; a real viewer gets in meanwhile", async () => {
  const seen: ServerStat[][] = [];
  const downLines = (): string[] => lb.output.filter((l) => /is DOWN|no server available/i.test(l));
  let polling = true;
  const poller = (async () => {
    while (polling) {
      seen.push(await lb.stats());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const started = Date.now();
  const floodEnd = started + FLOOD_MS;
  const attempts: Array<Promise<Attempt>> = [];
  const flood = (async () => {
    for (let i = 0; Date.now() < floodEnd; i++) {
      const due = started + (i * 1000) / FLOOD_PER_SEC;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      attempts.push(tryUpgrade(lb.wsUrl).catch(() => ({ status: 0, retryAfter: undefined, code: "connection_failed" })));
    }
  })();

  // Once the nodes shed (their buckets' 2 s burst is spent), a real viewer comes along.
  await waitFor(
    async () =>
      (await Promise.all(nodes.map((n) => fetch(`${n.url}/readyz`).then((r) => r.json() as Promise<{ checks: { node: string } }>)))).every(
        (r) => r.checks.node === "shedding",
      ),
    {
      what: "both nodes shedding",
      timeoutMs: FLOOD_MS,
    },
  );
  const viewer = await joinWithRetries(lb.wsUrl, floodEnd);
  const joinedAt = Date.now();
  await flood;
  const results = await Promise.all(attempts);
  polling = false;
  await poller;

  assert.ok(joinedAt < floodEnd, "the real viewer was welcomed while the flood lasted");
  const refused = results.filter((r) => r.status === 503).length;
  assert.ok(refused > 0, `the flood was shed: ${refused} of ${results.length} refused`);
  const notUp = seen.flat().filter((s) => s.status !== "UP");
  assert.deepEqual(notUp, [], "every node stayed UP in HAProxy during the flood");
  assert.deepEqual(downLines(), [], "HAProxy never logged a server DOWN");
  assert.ok(
    seen.some((snap) => snap.every((s) => s.weight < 100)),
    `the agents lowered both weights while shedding: ${JSON.stringify(seen.map((snap) => snap.map((s) => s.weight)))}`,
  );
  // After the flood the weights come back.
  await lb.waitForStats((s) => s.every((x) => x.status === "UP" && x.weight === 100), "full weight again after the flood", 15_000);
  viewer.ws.close();
});
