/**
 * Starts the system under test in its own process: our server (server/main.ts, configured for
 * benchmarking: BUZZ_POLICY=unlimited, RATE_LIMIT_PER_SEC=0) or one of the baselines, on port 0,
 * and reads the port from its "listening" JSON log line. Every process started here is SIGKILLed if
 * the bench exits without stopping it, so nothing outlives a run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { DialectName } from "../generator/dialect.ts";
import { REPO_ROOT, tsxExecArgv } from "./tsx-args.ts";

export const SERVER_KINDS = ["buzzcast", "uws", "ws", "socketio", "uws-deflate"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];
export type BaselineKind = Exclude<ServerKind, "buzzcast">;

const ENTRY: Record<ServerKind, string> = {
  buzzcast: "server/main.ts",
  uws: "bench/baselines/bare-uws-server.ts",
  ws: "bench/baselines/ws-server.ts",
  socketio: "bench/baselines/socketio-server.ts",
  "uws-deflate": "bench/baselines/bare-uws-server.ts",
};

/** Environment a kind always gets (uws-deflate is the bare uWS baseline with a shared compressor). */
const KIND_ENV: Partial<Record<ServerKind, Record<string, string>>> = { "uws-deflate": { COMPRESSION: "shared" } };

export const DIALECT: Record<ServerKind, DialectName> = { buzzcast: "ws", uws: "ws", ws: "ws", socketio: "socketio", "uws-deflate": "ws" };

export interface StartedServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** Event-loop threads serving connections (the "workers" of its listening line; 1 if absent). */
  workers: number;
  httpUrl: string;
  wsUrl: string;
  adminToken: string | null;
  /** Asks for a full garbage collection (a line to the gc-on-request hook's pipe); returns at once. */
  collectGarbage(): void;
  /** Last lines of its output, for error messages. */
  tail(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves the exit code (null if killed by a signal). */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<ChildProcess>();
/** Node ids come from this counter: never the id of a live process (the record's lease would make it wait). */
let started = 0;
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export async function startServerProcess(
  kind: ServerKind,
  extraEnv: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<StartedServer> {
  const adminToken = kind === "buzzcast" ? (extraEnv.ADMIN_TOKEN ?? `bench-${randomBytes(12).toString("hex")}`) : null;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: "0",
    HOST: "127.0.0.1",
    ...(kind === "buzzcast"
      ? {
          BUZZ_POLICY: "unlimited",
          RATE_LIMIT_PER_SEC: "0",
          // Admission control off: a bench measures capacity (the storm scenario sets its own).
          MAX_CONNECT_RATE: "0",
          LOG_LEVEL: "info",
          NODE_ID: `bench-${process.pid}-${started++}`,
          ADMIN_TOKEN: adminToken!,
        }
      : {}),
    ...KIND_ENV[kind],
    ...extraEnv,
  };
  const gcHook = join(REPO_ROOT, "bench/run/gc-on-request.mjs");
  const args = ["--expose-gc", ...tsxExecArgv(), "--import", pathToFileURL(gcHook).href, join(REPO_ROOT, ENTRY[kind])];
  // fd 3: a pipe to the GC hook (run/gc-on-request.mjs).
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...env, BENCH_GC_FD: "3" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  const gcPipe = proc.stdio[3] as Writable;
  gcPipe.on("error", () => {}); // the server exited: a GC request is moot
  live.add(proc);
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 50) lines.shift();
  };
  createInterface({ input: proc.stderr! }).on("line", keep);
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );
  let workers = 1;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} did not listen within ${timeoutMs} ms:\n${lines.join("\n")}`)), timeoutMs);
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      keep(line);
      if (!line.includes('"listening"')) return;
      try {
        const rec = JSON.parse(line) as { msg?: unknown; port?: unknown; workers?: unknown };
        if (rec.msg === "listening" && typeof rec.port === "number") {
          if (typeof rec.workers === "number" && rec.workers >= 1) workers = rec.workers;
          clearTimeout(timer);
          resolve(rec.port);
        }
      } catch {
        // not a JSON line: keep reading
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with ${code} before listening:\n${lines.join("\n")}`));
    });
  });
  return {
    kind,
    pid: proc.pid!,
    port,
    workers,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    adminToken,
    tail: () => [...lines],
    collectGarbage: () => {
      if (proc.exitCode === null && gcPipe.writable) gcPipe.write("gc\n");
    },
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
