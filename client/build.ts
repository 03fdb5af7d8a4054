/**
 * Builds the browser pages into `outDir` (default client/dist): index.html + buzzer.js/.css and
 * console.html + console.js/.css, overlay.html + overlay.js/.css, bundled and minified by esbuild for current browsers. HTML refers
 * to each asset with `?v=<content hash>`, so a browser never runs a page against a stale bundle.
 * The directory is written in full each time (old files removed first).
 *
 * Run directly: `tsx client/build.ts [outDir]` prints each bundle's size, raw and gzipped.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

const PAGES = [
  { html: "index.html", entry: "buzzer/main.ts", name: "buzzer" },
  { html: "console.html", entry: "console/main.ts", name: "console" },
  { html: "overlay.html", entry: "overlay/main.ts", name: "overlay" },
] as const;

/** Browsers from 2021 on: ES2020 syntax (class private fields are lowered for Safari 14). */
const TARGET = ["es2020", "chrome90", "firefox90", "safari14.1"];

/** Source files (paths relative to the repository root) that went into each page's script. */
export type BundleInputs = Record<string, string[]>;

/**
 * Builds the pages into a staging folder and swaps it in with a directory rename, so several
 * processes building at once (servers starting together on a fresh checkout) never see or leave a
 * half-written folder. `keepExisting`: when pages appeared meanwhile (another builder won), keep
 * theirs rather than swapping underneath a server that may be reading them.
 */
export async function buildClient(outDir = "client/dist", opts: { keepExisting?: boolean } = {}): Promise<BundleInputs> {
  const out = resolve(root, outDir);
  const staging = `${out}.staging-${process.pid}-${Date.now().toString(36)}`;
  const result = await build({
    entryPoints: PAGES.map((p) => ({ in: join(here, "web", p.entry), out: p.name })),
    outdir: out,
    bundle: true,
    minify: true,
    format: "esm",
    target: TARGET,
    platform: "browser",
    sourcemap: "linked",
    legalComments: "none",
    write: false,
    logLevel: "warning",
    metafile: true,
  });
  await mkdir(staging, { recursive: true });
  const versions = new Map<string, string>();
  for (const f of result.outputFiles) {
    await writeFile(join(staging, relative(out, f.path)), f.contents);
    versions.set(basename(f.path), createHash("sha256").update(f.contents).digest("hex").slice(0, 10));
  }
  for (const p of PAGES) {
    let html = await readFile(join(here, "web", p.html), "utf8");
    for (const ext of ["js", "css"]) {
      const file = `${p.name}.${ext}`;
      const v = versions.get(file);
      if (v === undefined) throw new Error(`build produced no ${file}`);
      html = html.replace(`"/${file}"`, `"/${file}?v=${v}"`);
    }
    await writeFile(join(staging, p.html), html);
  }
  await swapIn(staging, out, opts.keepExisting === true);
  const inputs: BundleInputs = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith(".js")) inputs[basename(file, ".js")] = Object.keys(meta.inputs);
  }
  return inputs;
}

async function swapIn(staging: string, out: string, keepExisting: boolean): Promise<void> {
  if (keepExisting && existsSync(join(out, "index.html"))) return rm(staging, { recursive: true, force: true });
  const old = `${staging}.old`;
  await rename(out, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  try {
    await rename(staging, out);
  } catch (err) {
    // Another builder of the same sources swapped in first: theirs is as good as ours.
    if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await rm(staging, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
}

export interface BundleSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/** Raw and gzipped (level 9) size of every page asset in `outDir`. */
export async function bundleSizes(outDir = "client/dist"): Promise<BundleSize[]> {
  const out = resolve(root, outDir);
  const sizes: BundleSize[] = [];
  for (const p of PAGES) {
    for (const file of [p.html, `${p.name}.js`, `${p.name}.css`]) {
      const body = await readFile(join(out, file));
      sizes.push({ file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length });
    }
  }
  return sizes;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? "client/dist";
  await buildClient(outDir);
  for (const s of await bundleSizes(outDir)) {
    console.log(`${s.file.padEnd(14)} ${String(s.bytes).padStart(8)} B  ${String(s.gzipBytes).padStart(7)} B gzipped`);
  }
}
