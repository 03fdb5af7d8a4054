/**
 * Admission control at the WebSocket upgrade (server/transport/admission.ts), against a real server:
 * the node's connect rate and the per-address rate answer 503 with Retry-After before any WebSocket
 * exists, /readyz says the node is shedding (still 200: shedding never takes a node out of the balancer), X-Forwarded-For counts only from a trusted proxy, a
 * foreign Origin gets 403 when ALLOWED_ORIGINS is set; every refusal is counted by reason.
 * Plus unit checks of the bucket and address logic with an injected clock.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { SHEDDING_WEIGHT_PCT } from "../server/transport/agent-check.ts";
import { freePort } from "./harness/memcached.ts";
import { Admission, TokenBucket, normalizeAddress } from "../server/transport/admission.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";

interface Attempt {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
}

/** One upgrade: 101 (the socket is closed again at once) or the refusal's status, Retry-After and error code. */
function tryUpgrade(srv: RunningServer, headers: Record<string, string> = {}, localAddress?: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(srv.wsUrl, { headers, ...(localAddress ? { localAddress } : {}) });
    ws.on("open", () => {
      ws.terminate();
      resolve({ status: 101, retryAfter: undefined, code: undefined });
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => {
        const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
        assert.equal(typeof parsed.error?.message, "string", "a JSON error body with a message");
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], code: parsed.error?.code });
      });
    });
    ws.on("error", (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

async function refusedMetric(srv: RunningServer, reason: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const m = new RegExp(`^buzzcast_upgrades_refused_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(text);
  assert.ok(m, `metric buzzcast_upgrades_refused_total{reason="${reason}"} exists`);
  return Number(m[1]);
}

test("MAX_CONNECT_RATE: upgrades past the bucket get 503 + Retry-After, counted; /readyz (200) says shedding, then recovers", async () => {
  const srv = await startServer({ MAX_CONNECT_RATE: "5" });
  try {
    const results: Attempt[] = [];
    for (let i = 0; i < 30; i++) results.push(await tryUpgrade(srv));
    const admitted = results.filter((r) => r.status === 101).length;
    const refused = results.filter((r) => r.status === 503);
    assert.ok(admitted >= 10, `the burst (2 s at 5/s) is admitted: ${admitted}`);
    assert.ok(refused.length >= 15, `most of the rest is refused: ${refused.length} of 30`);
    assert.equal(admitted + refused.length, 30, "nothing else than 101 or 503");
    for (const r of refused) {
      assert.equal(r.code, "connect_rate");
      assert.match(r.retryAfter ?? "", /^[1-9]\d*$/, "Retry-After in whole seconds");
    }
    assert.equal(await refusedMetric(srv, "connect_rate"), refused.length);
    const ready = await fetch(`${srv.url}/readyz`);
    const body = (await ready.json()) as { status?: string; checks?: Record<string, string> };
    assert.equal(ready.status, 200, "shedding keeps the node in the balancer (the agent check lowers its weight)");
    assert.equal(body.status, "degraded");
    assert.equal(body.checks?.node, "shedding");
    await waitFor(async () => ((await (await fetch(`${srv.url}/readyz`)).json()) as { checks: { node: string } }).checks.node === "ok", {
      what: "node ok again once the refusals stop",
    });
    assert.equal((await tryUpgrade(srv)).status, 101, "admitted again after the bucket refilled");
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test("MAX_CONNECT_RATE_PER_IP: one address is refused (connect_rate_ip), another is not; X-Forwarded-For only from TRUSTED_PROXIES", async () => {
  // 127.0.0.1 is the trusted proxy; 127.0.0.2 is an ordinary client whose X-Forwarded-For is ignored.
  const srv = await startServer({ MAX_CONNECT_RATE: "0", MAX_CONNECT_RATE_PER_IP: "2", TRUSTED_PROXIES: "127.0.0.1" });
  try {
    // Burst 4 per address (2 s at 2/s).
    const via = (client: string) => ({ "x-forwarded-for": `203.0.113.50, ${client}` });
    const a: Attempt[] = [];
    for (let i = 0; i < 8; i++) a.push(await tryUpgrade(srv, via("198.51.100.7"), "127.0.0.1"));
    const aRefused = a.filter((r) => r.status === 503);
    assert.ok(aRefused.length >= 3, `client 198.51.100.7 behind the proxy is limited: ${aRefused.length} of 8 refused`);
    for (const r of aRefused) {
      assert.equal(r.code, "connect_rate_ip");
      assert.match(r.retryAfter ?? "", /^[1-9]\d*$/);
    }
    // Another client behind the same proxy has its own bucket.
    assert.equal((await tryUpgrade(srv, via("198.51.100.8"), "127.0.0.1")).status, 101);
    // An untrusted peer's X-Forwarded-For is ignored: every header value shares 127.0.0.2's bucket.
    const b: Attempt[] = [];
    for (let i = 0; i < 8; i++) b.push(await tryUpgrade(srv, { "x-forwarded-for": `192.0.2.${i + 1}` }, "127.0.0.2"));
    const bRefused = b.filter((r) => r.status === 503).length;
    assert.ok(bRefused >= 3, `spoofed X-Forwarded-For does not escape the limit: ${bRefused} of 8 refused`);
    assert.equal(await refusedMetric(srv, "connect_rate_ip"), aRefused.length + bRefused);
    assert.equal(await refusedMetric(srv, "connect_rate"), 0);
    assert.equal((await fetch(`${srv.url}/readyz`)).status, 200, "per-address refusals do not make the node unready");
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test("ALLOWED_ORIGINS: a foreign Origin gets 403 origin_forbidden (counted); listed or absent Origin connects", async () => {
  const srv = await startServer({ ALLOWED_ORIGINS: "https://tv.example, https://m.tv.example:8443" });
  try {
    const evil = await tryUpgrade(srv, { origin: "https://evil.example" });
    assert.deepEqual(evil, { status: 403, retryAfter: undefined, code: "origin_forbidden" });
    assert.equal((await tryUpgrade(srv, { origin: "null" })).status, 403, "a sandboxed page's Origin null is foreign");
    assert.equal((await tryUpgrade(srv, { origin: "https://m.tv.example" })).status, 403, "the port is part of the origin");
    assert.equal((await tryUpgrade(srv, { origin: "https://tv.example" })).status, 101);
    assert.equal((await tryUpgrade(srv, { origin: "HTTPS://TV.EXAMPLE" })).status, 101, "origins compare case-insensitively");
    assert.equal((await tryUpgrade(srv, { origin: "https://m.tv.example:8443" })).status, 101);
    assert.equal((await tryUpgrade(srv)).status, 101, "no Origin header: not a browser, allowed");
    assert.equal(await refusedMetric(srv, "origin_forbidden"), 3);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test("bad admission settings stop the server with exit code 2", async () => {
  await assert.rejects(
    startServer({ TRUSTED_PROXIES: "10.0.0.0/33" }),
    (e: Error) => /exited with 2/.test(e.message) && /TRUSTED_PROXIES/.test(e.message),
  );
  await assert.rejects(
    startServer({ ALLOWED_ORIGINS: "tv.example" }),
    (e: Error) => /exited with 2/.test(e.message) && /ALLOWED_ORIGINS/.test(e.message),
  );
});

test("unit: token bucket refills at its rate; node refusals give back the address's token", () => {
  const b = new TokenBucket(10, 2, 0);
  assert.equal(b.take(0), true);
  assert.equal(b.take(0), true);
  assert.equal(b.take(0), false, "burst spent");
  assert.equal(b.take(50), false, "half a token after 50 ms");
  assert.equal(b.take(100), true, "one token per 100 ms at 10/s");
  let now = 1000;
  const adm = new Admission({ ratePerSec: 1, ratePerIpPerSec: 1, trustedProxies: [], allowedOrigins: undefined, random: () => 0 }, now);
  assert.equal(adm.check("", "10.0.0.1", "", now), null);
  assert.equal(adm.check("", "10.0.0.2", "", now), null);
  const r = adm.check("", "10.0.0.3", "", now);
  assert.equal(r?.reason, "connect_rate", "the node's burst (2 s at 1/s) is spent");
  assert.equal(r?.retryAfterSec, 1);
  assert.equal(adm.shedding(now), true);
  assert.equal(adm.check("", "10.0.0.3", "", now)?.reason, "connect_rate", "still the node, not the address");
  now += 1000;
  assert.equal(adm.check("", "10.0.0.3", "", now), null, "10.0.0.3's tokens were given back when the node refused it");
  assert.equal(adm.shedding(now + 2000), false, "shedding ends SHED_HOLD_MS after the last refusal");
});

test("unit: client address behind trusted proxies, IPv4-mapped and IPv6 forms", () => {
  const adm = new Admission({ ratePerSec: 0, ratePerIpPerSec: 1, trustedProxies: ["10.0.0.0/8", "::1"], allowedOrigins: undefined });
  assert.equal(adm.clientAddress("10.1.2.3", "198.51.100.1, 10.9.9.9"), "198.51.100.1", "right-most untrusted hop");
  assert.equal(
    adm.clientAddress("10.1.2.3", "198.51.100.1, 203.0.113.9"),
    "203.0.113.9",
    "a client-supplied hop left of it is not believed",
  );
  assert.equal(adm.clientAddress("10.1.2.3", "garbage"), "10.1.2.3", "a malformed hop: the proxy itself");
  assert.equal(adm.clientAddress("192.0.2.1", "198.51.100.1"), "192.0.2.1", "untrusted peer: header ignored");
  assert.equal(adm.clientAddress("0000:0000:0000:0000:0000:0000:0000:0001", "198.51.100.1"), "198.51.100.1", "::1 in uWS's long form");
  assert.equal(normalizeAddress("0000:0000:0000:0000:0000:ffff:7f00:0001"), "127.0.0.1");
  assert.equal(normalizeAddress("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(normalizeAddress("2001:db8::1"), "2001:0db8:0000:0000:0000:0000:0000:0001");
  assert.equal(normalizeAddress("not-an-ip"), null);
  // One IPv6 /64 is one client: the second address of the same /64 shares the first one's bucket.
  const v6 = new Admission({ ratePerSec: 0, ratePerIpPerSec: 1, trustedProxies: [], allowedOrigins: undefined }, 0);
  assert.equal(v6.check("", "2001:db8:1:2::1", "", 0), null);
  assert.equal(v6.check("", "2001:db8:1:2::2", "", 0), null, "burst 2");
  assert.equal(v6.check("", "2001:db8:1:2:ffff::9", "", 0)?.reason, "connect_rate_ip");
  assert.equal(v6.check("", "2001:db8:1:3::1", "", 0), null, "another /64");
});

test("AGENT_PORT: the agent check answers 100% while admitting and a lower weight while shedding", async () => {
  const agentPort = await freePort();
  const srv = await startServer({ MAX_CONNECT_RATE: "1", AGENT_PORT: String(agentPort) });
  const agent = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = net.connect(agentPort, "127.0.0.1");
      let line = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => (line += d));
      s.once("end", () => resolve(line));
      s.once("error", reject);
    });
  try {
    assert.equal(await agent(), "100%\n");
    for (let i = 0; i < 4; i++) await tryUpgrade(srv); // burst 2 at 1/s: the rest is shed
    assert.equal(await agent(), `${SHEDDING_WEIGHT_PCT}%\n`);
    await waitFor(async () => (await agent()) === "100%\n", { what: "full weight once the refusals stop" });
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
