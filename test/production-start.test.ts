/**
 * The production build (npm run build -> scripts/build-server.ts) starts and serves with plain
 * `node`, no TypeScript loader: the server is compiled into a temporary directory whose
 * node_modules holds every dependency except the dev tools tsx and esbuild, so any run-time
 * transpiling or page building (the worker threads' entry included) fails the start. It runs from its own working directory with 2 worker threads and
 * a MariaDB record: the SQL migrations and the pages are found from there, a viewer buzzes and is
 * counted in the record, and SIGTERM drains to exit 0. The build skips type-checking (the same
 * emit; `npm test` type-checks the tree on its own) to keep this test fast.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { buildServer } from "../scripts/build-server.ts";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TOKEN = "prod-test-token";
/** Dev dependencies a production install does not have: a start that needs them fails here. */
const DEV_TOOLS = new Set(["tsx", "esbuild", "@esbuild", ".bin"]);
let dir: string;
let db: MariaDb;
let proc: ChildProcess | null = null;

/** node_modules of the deployed copy: links to the project's packages, tsx, esbuild (and .bin) left out. */
async function linkDependencies(into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  for (const name of await readdir(join(ROOT, "node_modules"))) {
    if (DEV_TOOLS.has(name) || name.startsWith(".")) continue;
    await symlink(join(ROOT, "node_modules", name), join(into, name));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "buzzcast-prod-"));
  [db] = await Promise.all([startMariaDb(), buildServer(join(dir, "dist"), { check: false })]);
  await linkDependencies(join(dir, "node_modules"));
  await mkdir(join(dir, "client", "dist"), { recursive: true });
  await writeFile(join(dir, "client", "dist", "index.html"), "<!doctype html><title>compiled pages</title>\n");
});

after(async () => {
  proc?.kill("SIGKILL");
  await db?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("the compiled server starts with plain node (no tsx), serves pages, API and WebSocket, migrates, drains", async () => {
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  const p = spawn(process.execPath, ["dist/server/main.js"], {
    cwd: dir,
    env: {
      PATH: process.env["PATH"] ?? "",
      NODE_OPTIONS: "",
      PORT: "0",
      HOST: "127.0.0.1",
      WORKERS: "2",
      ADMIN_TOKEN: TOKEN,
      MYSQL_URL: db.url,
      NODE_ID: `prod-${process.pid}`,
      PERSIST_INTERVAL_MS: "200",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc = p;
  p.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = once(p, "exit").then(([code]) => code as number | null);
  createInterface({ input: p.stdout }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ raw: line });
    }
  });
  const isListening = (l: Record<string, unknown>) => l["msg"] === "listening";
  await Promise.race([
    waitFor(() => logs.some(isListening), { timeoutMs: 30_000, what: "the listening log line" }),
    exited.then((code) => assert.fail(`exited with ${String(code)} before listening:\n${stderr}`)),
  ]);
  const listening = logs.find(isListening) ?? assert.fail("no listening line");
  const url = `http://127.0.0.1:${String(listening["port"])}`;
  assert.equal(listening["workers"], 2);

  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /compiled pages/, "pages found from the compiled server's working directory");
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const show = (await (await fetch(`${url}/api/shows/demo`)).json()) as { stage: { act: string; open: boolean } };
  assert.equal(show.stage.open, true);

  const sqlFiles = (await readdir(join(ROOT, "server", "record", "migrations"))).filter((f) => f.endsWith(".sql"));
  const applied = await db.query<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM ${new URL(db.url).pathname.slice(1)}.schema_migrations`);
  assert.equal(Number(applied[0]?.n), sqlFiles.length, "every migration applied from the compiled location");

  const v = await TestViewer.join(`ws://127.0.0.1:${String(listening["port"])}/ws`, "demo", "prod-viewer");
  v.buzz(show.stage.act);
  await v.until(() => v.lastAck?.last === "counted", "the buzz counted");
  v.close();
  await waitFor(
    async () => {
      const r = await fetch(`${url}/api/shows/demo`);
      const st = (await r.json()) as { durable?: Record<string, number> };
      return st.durable?.[show.stage.act] === 1;
    },
    { timeoutMs: 10_000, what: "the buzz in the record" },
  );

  p.kill("SIGTERM");
  assert.equal(await exited, 0, `clean drain:\n${stderr}`);
  proc = null;
});
