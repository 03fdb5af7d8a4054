/**
 * SIGTERM: stop accepting, acknowledge everything received, close every socket with the drain code
 * (reconnect immediately), exit 0 within a few seconds. Viewers of protocol v1 and v2 alike.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE, reconnectRule } from "../shared/codes.ts";
import { startServer } from "./harness/server.ts";
import { metricValue, waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

test("SIGTERM drains v1 and v2 viewers alike: final acks, drain close code, exit 0", async () => {
  // A 10 s tick: no tick runs during the test, so only the drain can acknowledge the buzzes.
  const srv = await startServer({ TICK_MS: "10000", BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" });
  const viewers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => TestViewer.join(srv.wsUrl, "demo", undefined, { protocol: i % 2 ? 2 : 1 })),
  );
  for (const v of viewers) for (let i = 0; i < 5; i++) v.buzz("act-1");
  await waitFor(async () => (await metricValue(srv, "buzzcast_buzzes_received_total")) === 100, { what: "all 100 buzzes received" });
  assert.ok(
    viewers.every((v) => v.lastAck === null),
    "no tick acknowledged them before the drain",
  );
  const t0 = Date.now();
  const code = await srv.stop("SIGTERM");
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, "exited within the drain timeout");
  for (const v of viewers) {
    assert.equal(await v.closed, CLOSE.draining.code);
    assert.equal(reconnectRule(v.closeCode ?? 0), "immediate");
    assert.equal(v.lastAck?.seq, 5, "every buzz acknowledged before the close");
    assert.equal(v.lastAck?.counted, 5);
    const err = v.frames.find((f) => f.type === "error");
    assert.equal(err?.type === "error" && err.code, "draining", `v${v.protocol}: error frame before the close`);
  }
  assert.ok(srv.logs.some((l) => l.msg === "stopped"));
});

test("bad configuration exits 2 with a message naming the variable", async () => {
  await assert.rejects(startServer({ TICK_MS: "fast" }), (err: Error) => /exited with 2/.test(err.message) && /TICK_MS/.test(err.message));
  await assert.rejects(
    startServer({ BUZZ_POLICY: "sometimes" }),
    (err: Error) => /exited with 2/.test(err.message) && /BUZZ_POLICY/.test(err.message),
  );
});
