/**
 * The production build of the server: tsc (tsconfig.build.json) compiles server/ and shared/ to
 * JavaScript in `outDir` (default dist/; relative `.ts` import specifiers become `.js`), then this
 * copies what tsc does not emit, each to the place the compiled code looks for it:
 *  - server/record/migrations/*.sql beside the compiled migrate.js (it reads ./migrations/);
 *  - server/cluster/worker-entry.mjs beside the compiled supervisor.js (it loads the compiled
 *    worker.js when that sits beside it, so worker threads need no TypeScript loader);
 *  - a package.json saying `"type": "module"`, so the output is ESM wherever it is copied.
 * The pages are built separately (client/build.ts) into client/dist, which the server serves from
 * its working directory (STATIC_DIR). The directory is written in full each time (removed first).
 * Any tsc error fails the build (exit 1): a compiled server is never produced from code that does
 * not type-check.
 *
 * Run directly: `tsx scripts/build-server.ts [outDir]` (`npm run build` builds pages and server).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TSC = join(root, "node_modules", "typescript", "bin", "tsc");

export interface BuildOptions {
  /**
   * Type-check while compiling (default true). Tests that only need the emitted layout pass false
   * (tsc --noCheck: the same JavaScript, several times faster); `npm test` type-checks separately.
   */
  check?: boolean;
}

export async function buildServer(outDir = "dist", opts: BuildOptions = {}): Promise<string> {
  const out = resolve(root, outDir);
  if (
    out === root ||
    root.startsWith(out + "/") ||
    ["server", "shared", "client", "test", "node_modules"].some((d) => out === join(root, d))
  )
    throw new Error(`refusing to build into ${out}: it would remove sources`);
  await rm(out, { recursive: true, force: true });
  const args = [TSC, "-p", join(root, "tsconfig.build.json"), "--outDir", out, ...(opts.check === false ? ["--noCheck"] : [])];
  const tsc = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
  const [code] = (await once(tsc, "exit")) as [number | null];
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${String(code)})`);
  const migrations = join(root, "server", "record", "migrations");
  await mkdir(join(out, "server", "record", "migrations"), { recursive: true });
  for (const f of await readdir(migrations)) {
    if (f.endsWith(".sql")) await copyFile(join(migrations, f), join(out, "server", "record", "migrations", f));
  }
  await copyFile(join(root, "server", "cluster", "worker-entry.mjs"), join(out, "server", "cluster", "worker-entry.mjs"));
  await writeFile(join(out, "package.json"), JSON.stringify({ type: "module", private: true }, null, 2) + "\n");
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  try {
    const out = await buildServer(process.argv[2] ?? "dist");
    console.log(
      `server compiled to ${relative(process.cwd(), out) || "."} in ${Date.now() - started} ms: start it with npm run start:prod`,
    );
  } catch (err) {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
