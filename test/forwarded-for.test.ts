/**
 * Client addresses through the shipped HAProxy configuration (deploy/haproxy.cfg): a client that
 * plants its own X-Forwarded-For header must not choose the address its per-address connect limit
 * (MAX_CONNECT_RATE_PER_IP) is keyed by, nor spend another address's quota. HAProxy replaces the
 * header with the TCP source, and the node reads X-Forwarded-For from the right across every header
 * line, so a planted line is never believed either way.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningServer } from "./harness/server.ts";
import { startHaproxy, type RunningHaproxy } from "./harness/haproxy.ts";
import { tryUpgrade, type Attempt } from "./harness/upgrade.ts";

let node: RunningServer;
let lb: RunningHaproxy;

before(async () => {
  // Per address: 1 per second, burst 2. HAProxy (127.0.0.1) is the trusted proxy.
  node = await startServer({ MAX_CONNECT_RATE: "0", MAX_CONNECT_RATE_PER_IP: "1", TRUSTED_PROXIES: "127.0.0.1" });
  lb = await startHaproxy([{ port: node.port }]);
  await lb.waitForStats((s) => s.every((x) => x.status === "UP"), "the node UP behind HAProxy");
});

after(async () => {
  await lb?.stop();
  assert.equal(await node?.stop(), 0);
});

const admitted = (a: readonly Attempt[]): number => a.filter((r) => r.status === 101).length;

test("a client that plants X-Forwarded-For through HAProxy is still limited by its own address", async () => {
  const started = Date.now();
  const planted: Attempt[] = [];
  for (let i = 0; i < 20; i++) {
    planted.push(await tryUpgrade(lb.wsUrl, { "x-forwarded-for": `198.51.100.${i + 1}` }, "127.0.0.2"));
  }
  const seconds = (Date.now() - started) / 1000;
  // Burst 2 plus 1 per second of the run: what one address may open, whatever header it sends.
  const bound = 2 + Math.ceil(seconds);
  assert.ok(admitted(planted) <= bound, `a planted header does not escape the limit: ${admitted(planted)} of 20 admitted (bound ${bound})`);
  for (const r of planted.filter((x) => x.status !== 101)) assert.equal(r.code, "connect_rate_ip");
});

test("a planted header naming another client does not spend that client's quota", async () => {
  // 127.0.0.3 sends a burst claiming to be 127.0.0.4; 127.0.0.4 must still get its own burst.
  for (let i = 0; i < 6; i++) await tryUpgrade(lb.wsUrl, { "x-forwarded-for": "127.0.0.4" }, "127.0.0.3");
  const victim = await tryUpgrade(lb.wsUrl, {}, "127.0.0.4");
  assert.equal(victim.status, 101, `the victim is admitted: ${JSON.stringify(victim)}`);
});
