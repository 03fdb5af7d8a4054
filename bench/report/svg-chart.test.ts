import assert from "node:assert/strict";
import { test } from "node:test";
import { barChart, esc, lineChart, niceTicks, shortNumber } from "./svg-chart.ts";

test("ticks are round, cover the maximum, start at zero", () => {
  assert.deepEqual(niceTicks(100), [0, 25, 50, 75, 100]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  const t = niceTicks(987_654);
  assert.equal(t[0], 0);
  assert.ok(t[t.length - 1]! >= 987_654);
  assert.equal(shortNumber(1_234_567), "1.23M");
  assert.equal(shortNumber(950), "950");
});

test("charts are standalone SVG with escaped text, gaps for missing points, and no scripts", () => {
  const svg = lineChart("a <b> & c", "ms", [
    {
      name: "p99 <x>",
      color: "#c00",
      points: [
        [0, 1],
        [1, null],
        [2, 3],
      ],
    },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.includes("a &lt;b&gt; &amp; c") && svg.includes("p99 &lt;x&gt;"));
  assert.equal((svg.match(/M/g) ?? []).length, 2, "a null point splits the line in two");
  assert.ok(!svg.includes("<script"));
  const empty = lineChart("nothing", "x", []);
  assert.ok(empty.includes("no data"));
  const bars = barChart("p", "ms", [
    {
      label: "p50",
      values: [
        { name: "ours", color: "#00c", value: 2 },
        { name: "uws", color: "#0c0", value: null },
      ],
    },
  ]);
  assert.equal((bars.match(/<rect x=/g) ?? []).length, 1);
  assert.equal(esc(`"'`), "&quot;'");
});
