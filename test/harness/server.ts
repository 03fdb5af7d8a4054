/**
 * Starts a real buzzcast server process (tsx server/main.ts) on a free loopback port and reads its
 * port from the "listening" log line. Every process started here is killed when the test process
 * exits, so nothing is left running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const live = new Set<ChildProcess>();
let started = 0;
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface RunningServer {
  port: number;
  url: string;
  wsUrl: string;
  adminToken: string;
  proc: ChildProcess;
  /** All log lines so far (parsed JSON; non-JSON lines as {raw}). */
  logs: Array<Record<string, unknown>>;
  /** Send a signal (default SIGTERM) and wait for exit; resolves the exit code (null if killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const TEST_ADMIN_TOKEN = "test-admin-token";

/**
 * `exec`: a command prefix, e.g. ["ip", "netns", "exec", ns] to run the node on a simulated host (env HOST = its address).
 * `onLine`: every log line as it arrives, also before the server listens (one still starting, or refusing to).
 */
export async function startServer(
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  opts: { exec?: readonly string[]; onLine?: (rec: Record<string, unknown>) => void } = {},
): Promise<RunningServer> {
  const [cmd, ...pre] = [...(opts.exec ?? []), process.execPath];
  const proc = spawn(cmd, [...pre, "--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      LOG_LEVEL: "info",
      // Never two live processes with one id (the record's lease would make the second wait).
      NODE_ID: `test-${process.pid}-${started++}`,
      WORKERS: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  proc.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = once(proc, "exit").then(([code]) => {
    live.delete(proc);
    return code as number | null;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    createInterface({ input: proc.stdout }).on("line", (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { raw: line };
      }
      logs.push(rec);
      opts.onLine?.(rec);
      if (rec.msg === "listening" && typeof rec.port === "number") {
        clearTimeout(timer);
        resolve(rec.port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening\n${stderr}`));
    });
  });
  const adminToken = env.ADMIN_TOKEN ?? TEST_ADMIN_TOKEN;
  const host = env.HOST ?? "127.0.0.1";
  return {
    port,
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    adminToken,
    proc,
    logs,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** Call the admin API; throws with the server's error message on a non-2xx answer. */
export async function admin(server: { url: string; adminToken: string }, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
