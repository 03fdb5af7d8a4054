/**
 * The client SDK as another project gets it: `npm pack` of the @buzzcast/client workspace, the
 * tarball installed (offline) into a fresh project outside this repo, and there
 *  (a) a plain `node` ESM script (no tsx, no loader) with `ws` connects to a live server in v1 and
 *      in v2, buzzes and receives the totals;
 *  (b) a consumer file type-checks with the tsconfig `tsc --init` writes (the shipped files import
 *      nothing but each other, checked below, and the build compiles them with no Node types);
 *  (c) a bundle as React Native's or a browser's bundler makes it (esbuild, platform neutral, main
 *      fields browser/module/main) holds only the package's own files, no Node built-in, and its
 *      gzipped size stays under SDK_GZIP_BOUND.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import type * as Plain from "../client/lib/protocol-types.ts";
import type * as Zod from "../shared/protocol.ts";
import { startServer, type RunningServer } from "./harness/server.ts";

/** The whole API bundled, minified, gzipped (level 9). Measured 2026-11-29 (target
 *  es2020): 29.4 KB minified, 10.2 KB gzipped; the bound leaves room to grow, not to double. */
const SDK_GZIP_BOUND = 16 * 1024;

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);

// Compile time: the zod-free protocol types the SDK ships mirror shared/protocol.ts's schemas
// (assignable both ways, and the same keys, so an optional field added on one side only is caught
// too); a difference fails `tsc --noEmit`.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
const _mirrored: [
  Same<Plain.Act, Zod.Act>,
  Same<Plain.ShowInfo, Zod.ShowInfo>,
  Same<Plain.Stage, Zod.Stage>,
  Same<Plain.ScheduledStage, Zod.ScheduledStage>,
  Same<Plain.Welcome, Zod.Welcome>,
  Same<Plain.TotalsFrame, Zod.TotalsFrame>,
  Same<Plain.StageFrame, Zod.StageFrame>,
  Same<Plain.ShowFrame, Zod.ShowFrame>,
  Same<Plain.Ack, Zod.Ack>,
  Same<Plain.ErrorFrame, Zod.ErrorFrame>,
  Same<Plain.ServerMessage, Zod.ServerMessage>,
  Same<Plain.Hello, Zod.Hello>,
  Same<Plain.Buzz, Zod.Buzz>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];

/** A child's environment without our loader (NODE_OPTIONS) or the outer npm's settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS" && !k.toLowerCase().startsWith("npm_")));
}

/** Module specifiers of tsc's output: `import/export ... from "x"`, `import "x"`, `import("x")` (comments aside). */
const SPECIFIERS = /^(?:import|export)\b[^"'\n]*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']/gm;

interface PackedFile {
  path: string;
}
let tmp: string;
let app: string;
let packed: PackedFile[];
let server: RunningServer;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "buzzcast-sdk-"));
  app = join(tmp, "app");
  const packing = run("npm", ["pack", "--workspace=client", "--pack-destination", tmp, "--json"], { cwd: ROOT, env: cleanEnv() });
  const [{ stdout }, started] = await Promise.all([packing, startServer()]);
  server = started;
  // prepack's build prints a line before npm's JSON.
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as [{ filename: string; files: PackedFile[] }];
  packed = info.files;
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "sdk-consumer", private: true, type: "module" }));
  const flags = ["--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier"];
  await run("npm", ["install", ...flags, join(tmp, info.filename)], { cwd: app, env: cleanEnv() });
  // ws (no dependencies) copied from this repo: the Node example needs no registry.
  await cp(join(ROOT, "node_modules/ws"), join(app, "node_modules/ws"), { recursive: true });
});

after(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("the tarball holds compiled JavaScript, declarations and the protocol tables, nothing else", async () => {
  const paths = packed.map((f) => f.path).sort();
  for (const p of paths) assert.ok(/^(README\.md|package\.json|sdk-dist\/.+\.(js|d\.ts))$/.test(p), `unexpected file in the package: ${p}`);
  for (const p of [
    "sdk-dist/client/lib/index.js",
    "sdk-dist/client/lib/index.d.ts",
    "sdk-dist/shared/codes.js",
    "sdk-dist/shared/v2/decode.js",
  ]) {
    assert.ok(paths.includes(p), `${p} is packed`);
  }
  assert.ok(
    !paths.some((p) => p.includes("protocol.js") || p.includes("strict-check") || p.includes("fake-server")),
    "no zod schemas, no test helpers",
  );
  const pkg = JSON.parse(await readFile(join(app, "node_modules/@buzzcast/client/package.json"), "utf8")) as Record<string, unknown>;
  for (const deps of ["dependencies", "peerDependencies", "optionalDependencies"]) assert.equal(pkg[deps], undefined, `no ${deps}`);
  assert.ok(pkg["exports"], "an exports map");
  // Every specifier in the shipped code and declarations names a shipped .js file: no package (zod,
  // a Node built-in), no source path (tsc leaves .ts ones in declarations, which editors and other
  // tools then look for).
  const dist = join(app, "node_modules/@buzzcast/client");
  for (const p of paths.filter((f) => f.startsWith("sdk-dist/"))) {
    const text = await readFile(join(dist, p), "utf8");
    for (const [, from, bare, dynamic] of text.matchAll(SPECIFIERS)) {
      const spec = from ?? bare ?? dynamic;
      assert.ok(spec?.startsWith(".") && spec.endsWith(".js") && paths.includes(join(p, "..", spec)), `${p} imports ${spec}`);
    }
  }
});

const NODE_EXAMPLE = `
import { BuzzClient } from "@buzzcast/client";
import { WebSocket } from "ws";

const url = process.argv[2];
const errors = [];
function live(client) {
  return new Promise((resolve, reject) => {
    const off = client.on("state", (s) => {
      if (s.state === "live") resolve(off());
      if (s.state === "closed") reject(new Error("closed " + s.code));
    });
    client.connect();
  });
}
function totalReaches(client, act, n) {
  return new Promise((resolve) => {
    if (client.total(act) >= n) return resolve();
    const off = client.on("totals", ({ totals }) => (totals[act] ?? 0) >= n && resolve(off()));
  });
}
const clients = ["v1", "v2"].map((protocol) => new BuzzClient({ url, show: "demo", viewer: "pack-" + protocol, protocol, WebSocket }));
for (const c of clients) c.on("error", (e) => errors.push(e.code));
await Promise.all(clients.map(live));
const outcomes = [];
for (const c of clients) outcomes.push(await c.buzz("act-1"));
await Promise.all(clients.map((c) => totalReaches(c, "act-1", 2)));
console.log(JSON.stringify({ execArgv: process.execArgv, protocols: clients.map((c) => c.protocol), outcomes, totals: clients.map((c) => c.total("act-1")), errors }));
for (const c of clients) c.close();
`;

test("plain node runs the installed package with ws: v1 and v2 connect, buzz and receive totals", async () => {
  await writeFile(join(app, "main.js"), NODE_EXAMPLE);
  const { stdout } = await run(process.execPath, ["main.js", server.url], { cwd: app, env: cleanEnv(), timeout: 20_000 });
  const r = JSON.parse(stdout) as { execArgv: string[]; protocols: string[]; outcomes: string[]; totals: number[]; errors: string[] };
  assert.deepEqual(r.execArgv, [], "no loader: the package's JavaScript runs as shipped");
  assert.deepEqual(r.protocols, ["v1", "v2"]);
  assert.deepEqual(r.outcomes, ["counted", "counted"]);
  assert.deepEqual(r.totals, [2, 2], "each client saw both buzzes in its totals");
  assert.deepEqual(r.errors, []);
});

const CONSUMER = `
import { BuzzClient, CLOSE, REJECT, closeName, type BuzzOutcome, type StateChange, type TotalsUpdate } from "@buzzcast/client";

function label(o: BuzzOutcome): string {
  switch (o) {
    case "counted":
      return "Counted!";
    case "not_sent":
    case "unconfirmed":
      return "Try again";
    case "rejected_other":
      return "Not counted";
    default:
      return REJECT[o];
  }
}
// The DOM's WebSocket (lib "dom" comes with the default target) fits the client's WebSocket slot.
const client = new BuzzClient({ url: "https://buzz.example", show: "demo", viewer: "v-1", protocol: "auto", WebSocket });
client.on("state", (s: StateChange) => console.log(s.state, s.reason, s.code === undefined ? "" : closeName(s.code)));
client.on("totals", (u: TotalsUpdate) => console.log(u.epoch, u.totals["act-1"] ?? 0));
client.on("error", (e) => console.log(e.code === "draining", CLOSE.draining.code));
client.connect();
void client.buzz("act-1").then((o) => console.log(label(o)));
// @ts-expect-error: the types are real (an unknown event name does not compile)
client.on("nope", () => {});
`;

test("a consumer type-checks with the tsconfig tsc --init writes", async () => {
  await writeFile(join(app, "consumer.ts"), CONSUMER);
  await run(process.execPath, [TSC, "--init"], { cwd: app, env: cleanEnv() });
  const errors = await run(process.execPath, [TSC, "-p", ".", "--noEmit"], { cwd: app, env: cleanEnv() }).then(
    () => "",
    (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}` || "tsc failed",
  );
  assert.equal(errors, "", "tsc reports no errors");
});

test("a neutral-platform bundle has no Node built-in and stays small", async (t) => {
  const result = await build({
    stdin: { contents: 'export * from "@buzzcast/client";', resolveDir: app, loader: "js" },
    absWorkingDir: app,
    bundle: true,
    platform: "neutral",
    mainFields: ["browser", "module", "main"],
    format: "esm",
    target: "es2020",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p !== "<stdin>");
  assert.ok(inputs.length > 10, "the library and its tables were bundled");
  for (const p of inputs) assert.ok(p.startsWith("node_modules/@buzzcast/client/sdk-dist/"), `bundled from outside the package: ${p}`);
  const [out] = result.outputFiles;
  assert.ok(out);
  assert.doesNotMatch(out.text, /\brequire\(|["']node:/, "no Node built-in in the bundle");
  const gzipped = gzipSync(out.contents, { level: 9 }).length;
  t.diagnostic(`@buzzcast/client bundle: ${out.contents.length} B minified, ${gzipped} B gzipped (bound ${SDK_GZIP_BOUND} B)`);
  assert.ok(gzipped < SDK_GZIP_BOUND, `gzipped ${gzipped} B >= ${SDK_GZIP_BOUND} B`);
});
