import assert from "node:assert/strict";
import { test } from "node:test";
import { byProtocol, protocolRows } from "./protocol-targets.ts";
import type { RunFigures } from "./report-types.ts";

/** Only the fields the protocol rows read. */
const run = (over: Partial<RunFigures>): RunFigures =>
  ({ scenario: "fanout", protocol: "v1", bytesPerTotalsDelivery: null, ...over }) as RunFigures;
const big = { acts: 10, seedTotal: 1_000_000 };

test("v2 vs v1 in one command: bytes per delivery at 1/10 and CPU per delivery, judged only on the target's show", () => {
  const v1 = run({ protocol: "v1", bytesPerTotalsDelivery: 271, egressBytesPerViewerSec: 2710, serverCpuUsPerDelivery: 7 });
  const v2 = run({ protocol: "v2", bytesPerTotalsDelivery: 24, egressBytesPerViewerSec: 240, serverCpuUsPerDelivery: 6.5 });
  const rows = protocolRows(byProtocol(v1, { v2 }), {}, big);
  assert.deepEqual(
    rows.map((r) => [r.ratio, r.pass]),
    [
      [0.09, true],
      [0.93, true],
    ],
  );
  const worse = protocolRows(byProtocol(v2, { v1: { ...v1, bytesPerTotalsDelivery: 200 } }), {}, big);
  assert.equal(worse[0]?.pass, false, "24 B vs 200 B is more than a tenth");
  const small = protocolRows(byProtocol(v1, { v2 }), {}, { acts: 0, seedTotal: 0 });
  assert.equal(small[0]?.pass, null, "another show is a comparison, not the target");
  assert.deepEqual(protocolRows(byProtocol(v1), {}, big), [], "one protocol: nothing to compare");
});

test("the deflate baseline is reported beside buzzcast: bytes and CPU, as comparisons", () => {
  const v2 = run({ protocol: "v2", bytesPerTotalsDelivery: 24, serverCpuUsPerDelivery: 6 });
  const deflate = run({ bytesPerTotalsDelivery: 120, serverCpuUsPerDelivery: 12 });
  const uws = run({ bytesPerTotalsDelivery: 258, serverCpuUsPerDelivery: 10 });
  const rows = protocolRows(byProtocol(v2), { "uws-deflate": deflate, uws }, big);
  assert.deepEqual(
    rows.map((r) => [r.ratio, r.pass]),
    [
      [0.2, null],
      [0.5, null],
    ],
  );
  assert.match(rows[0]!.measured, /120 B deflated vs 258 B plain; buzzcast v2 24 B/);
});
