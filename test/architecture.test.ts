/**
 * The data path is visible in the tree and its arrows point one way: every import between our
 * folders goes to a strictly lower layer. Layers, top to bottom:
 *
 *   server/main.ts -> cluster/ -> node/ -> transport/ -> counting/ | auth/ | audit/ -> broadcast/
 *     -> store/ -> shows/ -> cache/ | record/ -> ops/ | server/config.ts -> shared/
 * (Folders on one layer, written a | b, do not import each other.)
 *
 * shared/ (the wire protocol) imports nothing of ours; client/ and bench/ never import server/.
 * Test support (tests, contract suites, fixtures) is exempt: it may reach any layer.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");

const LAYERS: ReadonlyArray<readonly [string, number]> = [
  ["server/main.ts", 11],
  ["server/cluster/", 10],
  ["server/node/", 9],
  ["server/transport/", 8],
  ["server/counting/", 7],
  ["server/auth/", 7],
  ["server/audit/", 7],
  ["server/broadcast/", 6],
  ["server/store/", 5],
  ["server/shows/", 4],
  ["server/cache/", 3],
  ["server/record/", 3],
  ["server/ops/", 2],
  ["server/config.ts", 2],
  ["shared/", 1],
];

function placeOf(file: string): readonly [string, number] | undefined {
  return LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix));
}

function layerOf(file: string): number | undefined {
  return placeOf(file)?.[1];
}

const isTestSupport = (f: string): boolean => /\.(test|contract)\.ts$|fixture\.ts$|\/testing\.ts$/.test(f);

interface Edge {
  from: string;
  to: string;
}

function importEdges(): Edge[] {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f !== "" && !f.startsWith("node_modules/") && !isTestSupport(f) && existsSync(resolve(ROOT, f)));
  const edges: Edge[] = [];
  for (const from of files) {
    const src = readFileSync(resolve(ROOT, from), "utf8");
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const spec = m[1];
      if (spec !== undefined) edges.push({ from, to: relative(ROOT, resolve(ROOT, dirname(from), spec)) });
    }
  }
  return edges;
}

test("every import between server folders points to a lower layer", () => {
  const bad: string[] = [];
  for (const { from, to } of importEdges()) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === undefined || b === undefined) continue;
    if (dirname(from) === dirname(to) || placeOf(from) === placeOf(to)) continue;
    if (b >= a) bad.push(`${from} -> ${to}`);
  }
  assert.deepEqual(bad, [], `imports against the layering:\n${bad.join("\n")}`);
});

test("shared/ imports nothing of ours; client/ and bench/ never import server/", () => {
  const bad = importEdges().filter(
    ({ from, to }) =>
      (from.startsWith("shared/") && !to.startsWith("shared/")) ||
      ((from.startsWith("client/") || from.startsWith("bench/")) && to.startsWith("server/")),
  );
  assert.deepEqual(bad, []);
});

test("every server source file is in a known layer", () => {
  const unplaced = [...new Set(importEdges().map((e) => e.from))].filter((f) => f.startsWith("server/") && layerOf(f) === undefined);
  assert.deepEqual(unplaced, []);
});
