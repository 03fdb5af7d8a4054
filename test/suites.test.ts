/**
 * No test file is left out of `npm test`: every tracked `*.test.ts`, wherever it is, belongs to
 * exactly one suite, and `npm test` runs every suite after the type-check and lint. The classifier
 * follows run-time imports (not type imports) to the modules that start services.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { ROOT, SOAK, SUITES, suiteOf, suites, testFiles } from "./suites.ts";

test("every tracked test file is in exactly one suite", () => {
  const tracked = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.test.ts"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter((f) => f !== "" && !f.includes("node_modules/"));
  assert.ok(tracked.length > 50, `found ${tracked.length} test files`);
  const bySuite = suites();
  const all = SUITES.flatMap((s) => bySuite[s]);
  assert.equal(new Set(all).size, all.length, "no file in two suites");
  const missing = tracked.filter((f) => !all.includes(f));
  assert.deepEqual(missing, [], "test files no suite runs");
  for (const f of SOAK) assert.ok(tracked.includes(f), `soak file ${f} exists`);
});

test("npm test runs the type-check, lint, and then every suite", () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const steps = (scripts["test"] ?? "").split("&&").map((s) => s.trim());
  assert.deepEqual(steps.slice(0, 2), ["tsc --noEmit", "npm run lint"]);
  for (const s of SUITES) {
    assert.ok(steps.includes(`npm run test:${s}`), `npm test runs test:${s}`);
    assert.equal(scripts[`test:${s}`], `tsx scripts/run-tests.ts ${s}`);
  }
});

test("a test file reaching a service module through run-time imports is e2e; a type import is not", () => {
  const root = mkdtempSync(join(tmpdir(), "buzzcast-suites-"));
  const write = (file: string, src: string): void => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), src);
  };
  try {
    write("test/harness/server.ts", "export const startServer = 1;\n");
    write("lib/helper.ts", 'import { startServer } from "../test/harness/server.ts";\nexport const x = startServer;\n');
    write("lib/uses-helper.test.ts", 'import { x } from "./helper.ts";\nvoid x;\n');
    write("lib/type-only.test.ts", 'import type { x } from "./helper.ts";\nexport type T = typeof x;\n');
    // (Split so this file's own source does not read as a dynamic import of the harness.)
    write("lib/dynamic.test.ts", "await imp" + 'ort("../test/harness/server.ts");\n');
    write("lib/pure.test.ts", "export {};\n");
    write("node_modules/pkg/ignored.test.ts", "export {};\n");
    assert.deepEqual(testFiles(root), ["lib/dynamic.test.ts", "lib/pure.test.ts", "lib/type-only.test.ts", "lib/uses-helper.test.ts"]);
    assert.equal(suiteOf("lib/uses-helper.test.ts", root), "e2e");
    assert.equal(suiteOf("lib/dynamic.test.ts", root), "e2e");
    assert.equal(suiteOf("lib/type-only.test.ts", root), "unit");
    assert.equal(suiteOf("lib/pure.test.ts", root), "unit");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
