import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOptions, UsageError } from "./options.ts";

test("defaults per scenario, and explicit options", () => {
  const f = parseOptions(["fanout", "--start"]);
  assert.equal(f.connections, 10_000);
  assert.equal(f.rate, 50);
  assert.equal(f.connectRate, 0);
  assert.equal(parseOptions(["connections", "--start"]).connectRate, 2000);
  const o = parseOptions([
    "ingest",
    "--url",
    "ws://127.0.0.1:9/ws,ws://127.0.0.1:10/ws",
    "--mode",
    "paced",
    "--rate",
    "5000",
    "--baseline",
    "uws,ws",
    "--server-env",
    "WORKERS=1",
    "--tcp-mem-budget",
    "32",
  ]);
  assert.deepEqual(o.urls, ["ws://127.0.0.1:9/ws", "ws://127.0.0.1:10/ws"]);
  assert.equal(o.mode, "paced");
  assert.equal(o.rate, 5000);
  assert.deepEqual(o.baselines, ["uws", "ws"]);
  assert.deepEqual(o.serverEnv, { WORKERS: "1" });
  assert.equal(o.tcpMemBudgetBytes, 32 * 2 ** 20);
});

test("rejects what cannot run: no target, off-loopback URL, bad values, unknown scenario or baseline", () => {
  assert.throws(() => parseOptions(["ingest"]), UsageError);
  assert.throws(() => parseOptions(["ingest", "--url", "ws://10.0.0.1:80/ws"]), /loopback/);
  assert.throws(() => parseOptions(["ingest", "--start", "--url", "ws://127.0.0.1:1/ws"]), /exclusive/);
  assert.throws(() => parseOptions(["ingest", "--start", "--mode", "burst"]), /flood or paced/);
  assert.throws(() => parseOptions(["ingest", "--start", "--connections", "0"]), /--connections/);
  assert.throws(() => parseOptions(["nope", "--start"]), /unknown scenario/);
  assert.throws(() => parseOptions(["ingest", "--start", "--baseline", "nginx"]), /--baseline/);
  assert.throws(() => parseOptions(["fanout", "--start", "--protocol", "v3"]), /--protocol/);
  assert.throws(() => parseOptions(["fanout", "--url", "ws://127.0.0.1:1/ws", "--protocol", "v1,v2"]), /needs --start/);
  assert.throws(() => parseOptions(["connections", "--start", "--protocol", "v2"]), /applies to ingest, fanout and show/);
  assert.throws(() => parseOptions(["ingest", "--start", "--acts", "10"]), /--acts applies to fanout/);
  assert.throws(() => parseOptions(["fanout", "--start", "--seed-total", "5"]), /needs --acts/);
});

test("protocols, deflate and the big show", () => {
  const d = parseOptions(["fanout", "--start"]);
  assert.deepEqual([d.protocols, d.deflate, d.acts, d.seedTotal], [["v1"], false, 0, 0]);
  const o = parseOptions([
    "fanout",
    "--start",
    "--protocol",
    "v1,v2",
    "--deflate",
    "--acts",
    "10",
    "--seed-total",
    "1000000",
    "--baseline",
    "uws-deflate",
  ]);
  assert.deepEqual([o.protocols, o.deflate, o.acts, o.seedTotal, o.baselines], [["v1", "v2"], true, 10, 1_000_000, ["uws-deflate"]]);
});
