/**
 * Which test suite each test file belongs to, decided by what the file needs:
 *  - soak: the long runs (the soak, the 100k-frame fuzz), listed in SOAK;
 *  - e2e: every test file that, through its run-time imports, starts something outside the test
 *    process: a buzzcast server process, memcached, MariaDB, HAProxy, Chromium, network namespaces
 *    (the SERVICE_MODULES). Run one file at a time (timing-sensitive under load);
 *  - unit: every other `*.test.ts`: logic, in-process servers on port 0, fakes, static checks of
 *    the tree. Run in parallel.
 * Test files are found by walking the repository (not a list of folders), so a test file added
 * anywhere runs; test/suites.test.ts checks every tracked test file lands in exactly one suite.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export type Suite = "unit" | "e2e" | "soak";
export const SUITES: readonly Suite[] = ["unit", "e2e", "soak"];

export const ROOT = resolve(import.meta.dirname, "..");

/** Long runs: minutes each, run last and on their own. */
export const SOAK: readonly string[] = ["test/soak.test.ts", "test/fuzz.test.ts"];

/** Modules that start a process or a service outside the test process. */
export const SERVICE_MODULES: readonly string[] = [
  "test/harness/server.ts",
  "test/harness/cluster.ts",
  "test/harness/memcached.ts",
  "test/harness/mariadb.ts",
  "test/harness/haproxy.ts",
  "test/harness/chromium.ts",
  "test/harness/netns.ts",
  "test/harness/hosts.ts",
  "server/record/mysql-fixture.ts",
  "bench/run/server-process.ts",
  "scripts/build-server.ts",
];

const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "test-artifacts", "bench-results"]);

/** Every `*.test.ts` under the repository root, as root-relative paths, sorted. */
export function testFiles(root = ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) walk(join(dir, e.name));
      } else if (e.name.endsWith(".test.ts")) out.push(relative(root, join(dir, e.name)));
    }
  };
  walk(root);
  return out.sort();
}

/** Relative modules a file imports at run time (`import type` left out), root-relative. */
export function runtimeImports(file: string, root = ROOT): string[] {
  const src = readFileSync(join(root, file), "utf8");
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+["'](\.{1,2}\/[^"']+)["']/gm,
    /^\s*import\s+["'](\.{1,2}\/[^"']+)["']/gm,
    /import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of src.matchAll(re)) {
      const target = relative(root, resolve(root, dirname(file), m[1]!));
      if (existsSync(join(root, target))) out.push(target);
    }
  }
  return out;
}

/** Whether `file` reaches a SERVICE_MODULE through its run-time imports; the chain when it does. */
export function serviceChain(file: string, root = ROOT): string[] | null {
  const seen = new Set<string>([file]);
  const queue: Array<{ f: string; path: string[] }> = [{ f: file, path: [file] }];
  while (queue.length > 0) {
    const { f, path } = queue.shift()!;
    if (SERVICE_MODULES.includes(f)) return path;
    if (!/\.(ts|mts|js|mjs)$/.test(f)) continue;
    for (const next of runtimeImports(f, root)) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push({ f: next, path: [...path, next] });
    }
  }
  return null;
}

export function suiteOf(file: string, root = ROOT): Suite {
  if (SOAK.includes(file)) return "soak";
  return serviceChain(file, root) === null ? "unit" : "e2e";
}

/** The test files of each suite. */
export function suites(root = ROOT): Record<Suite, string[]> {
  const out: Record<Suite, string[]> = { unit: [], e2e: [], soak: [] };
  for (const f of testFiles(root)) out[suiteOf(f, root)].push(f);
  return out;
}
