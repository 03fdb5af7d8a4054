/**
 * Start time and idle memory of the server from source (`npm start`: tsx server/main.ts, transpiled
 * at run time) against the compiled build (`npm run start:prod`: node dist/server/main.js), with
 * WORKERS=1 and the default (one worker thread per core). Each combination runs `--runs` times
 * (default 5) after one discarded warm-up run (so both start with warm OS file caches and tsx with
 * its transform cache filled, as on a restart); medians are printed.
 *  - start: from spawn to the "listening" log line (every worker up), in ms;
 *  - RSS at start: resident memory of the process tree (tsx's CLI runs node as a child: both are
 *    counted; worker threads live inside the node process) when "listening" is printed;
 *  - RSS idle: the same after `--idle-ms` (default 3000) of no traffic.
 * The commands are run directly, not through npm (npm's own process would add the same to both);
 * `node --import tsx` (tsx as a loader, one process) separates transpiling from the CLI's parent.
 *
 *   npx tsx scripts/measure-start.ts [--runs 5] [--idle-ms 3000]
 *
 * Builds the pages (client/dist) and the server (dist/) first when they are missing; run
 * `npm run build` before to measure the current code.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildClient } from "../client/build.ts";
import { buildServer } from "./build-server.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, "idle-ms": { type: "string", default: "3000" } } });
const RUNS = Number(values.runs);
const IDLE_MS = Number(values["idle-ms"]);

interface Sample {
  startMs: number;
  rssStartMb: number;
  rssIdleMb: number;
}

const MODES = {
  "npm start (tsx)": [join(ROOT, "node_modules", ".bin", "tsx"), "server/main.ts"],
  "node --import tsx (one process)": [process.execPath, "--import", "tsx", "server/main.ts"],
  "start:prod (compiled)": [process.execPath, "dist/server/main.js"],
} as const;

/** Resident set size (MB) of `pid` and all its descendants, from /proc. */
function treeRssMb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // the process ended while we looked: it holds no memory any more
    }
  }
  let kb = 0;
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // ended meanwhile
    }
    todo.push(...(children.get(p) ?? []));
  }
  return kb / 1024;
}

async function measureOnce(cmd: readonly string[], workers: string | undefined): Promise<Sample> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    ADMIN_TOKEN: "measure-start-token",
    LOG_LEVEL: "info",
    NODE_OPTIONS: "",
  };
  if (workers === undefined) delete env["WORKERS"];
  else env["WORKERS"] = workers;
  const started = performance.now();
  const [bin, ...args] = cmd;
  const p = spawn(bin as string, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  const exited = once(p, "exit");
  const listening = new Promise<number>((res, rej) => {
    createInterface({ input: p.stdout }).on("line", (line) => {
      if (line.includes('"msg":"listening"')) res(performance.now() - started);
    });
    void exited.then(() => rej(new Error(`${cmd.join(" ")} exited before listening`)));
  });
  const startMs = await listening;
  const rssStartMb = treeRssMb(p.pid ?? -1);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rssIdleMb = treeRssMb(p.pid ?? -1);
  p.kill("SIGTERM");
  await exited;
  return { startMs, rssStartMb, rssIdleMb };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

if (!existsSync(join(ROOT, "client", "dist", "index.html"))) await buildClient();
if (!existsSync(join(ROOT, "dist", "server", "main.js"))) await buildServer();

console.log(`${RUNS} runs each (after a warm-up), idle ${IDLE_MS} ms; medians`);
console.log("| command | WORKERS | start -> listening | RSS at listening | RSS idle |");
console.log("|---|---|---|---|---|");
for (const workers of ["1", undefined]) {
  for (const [name, cmd] of Object.entries(MODES)) {
    await measureOnce(cmd, workers);
    const samples: Sample[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await measureOnce(cmd, workers));
    const f = (k: keyof Sample, unit: string, digits: number) => `${median(samples.map((s) => s[k])).toFixed(digits)} ${unit}`;
    console.log(
      `| ${name} | ${workers ?? "default"} | ${f("startMs", "ms", 0)} | ${f("rssStartMb", "MB", 1)} | ${f("rssIdleMb", "MB", 1)} |`,
    );
    console.error(`  ${name}, WORKERS=${workers ?? "default"}: start ${samples.map((s) => s.startMs.toFixed(0)).join(", ")} ms`);
  }
}
