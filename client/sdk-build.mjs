/**
 * Builds the @buzzcast/client package into client/sdk-dist (run by `npm run build -w client` and by
 * `npm pack`'s prepack): a clean output directory, then tsc with tsconfig.build.json (ESM + .d.ts;
 * rewriteRelativeImportExtensions turns the sources' `./x.ts` specifiers into `./x.js` in the
 * JavaScript). tsc leaves `.ts` specifiers in the declaration files it emits (microsoft/TypeScript
 * #61037); the last step rewrites the relative ones to `.js`, which resolve to the `.d.ts` next to
 * each `.js` for every consumer's moduleResolution. Plain .mjs on purpose: no tsx needed to build.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "sdk-dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(out, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, "-p", join(here, "tsconfig.build.json")], { stdio: "inherit" });
if (r.status !== 0) {
  console.error(`sdk-build: tsc failed (${r.status ?? r.signal})`);
  process.exit(1);
}

/** `from "./x.ts"`, `import("../y.ts")`: relative specifiers only; package specifiers are left alone. */
const relativeTs = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*?)\.ts\2/g;
let rewritten = 0;
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, "utf8");
  const next = text.replace(relativeTs, (_m, lead, q, path) => `${lead}${q}${path}.js${q}`);
  if (next !== text) {
    writeFileSync(file, next);
    rewritten++;
  }
}
console.log(`sdk-build: ${out} (declaration specifiers rewritten in ${rewritten} files)`);
