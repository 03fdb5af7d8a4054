import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpError } from "./http-util.ts";
import { PublicReadGate } from "./public-reads.ts";

const refusal = (fn: () => void): HttpError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error("not refused");
};

test("public reads: per-address bucket (forwarded client behind a trusted proxy), epochs, intervals; each refusal counted", () => {
  const gate = new PublicReadGate({ ratePerIpPerSec: 1, trustedProxies: ["127.0.0.1"], persistIntervalMs: 250 });
  gate.admit("127.0.0.1", "198.51.100.1", 0);
  gate.admit("127.0.0.1", "198.51.100.1", 0);
  const r = refusal(() => gate.admit("127.0.0.1", "198.51.100.1", 0));
  assert.deepEqual([r.status, r.code, r.headers["retry-after"]], [429, "rate_limited", "1"]);
  gate.admit("127.0.0.1", "198.51.100.2", 0); // another client behind the same proxy
  gate.admit("127.0.0.1", "198.51.100.1", 1000); // refilled
  assert.equal(refusal(() => gate.checkEpoch("old", "cur", false)).status, 401);
  gate.checkEpoch("old", "cur", true);
  gate.checkEpoch("cur", "cur", false);
  assert.equal(refusal(() => gate.checkInterval(1234, false)).status, 400);
  gate.checkInterval(1234, true);
  gate.checkInterval(250, false); // the persist interval
  gate.checkInterval(60_000, false);
  gate.recordUnavailable();
  assert.deepEqual(gate.refused, { rate_limited: 1, interval: 1, past_epoch: 1, record_unavailable: 1 });
  const off = new PublicReadGate({ ratePerIpPerSec: 0, trustedProxies: [], persistIntervalMs: 1000 });
  for (let i = 0; i < 100; i++) off.admit("10.0.0.1", "", 0);
  assert.equal(off.needsPeer, false);
});
