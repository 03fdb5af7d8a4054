/**
 * Starts a real HAProxy (/usr/sbin/haproxy, foreground) in front of buzzcast nodes, with the
 * configuration of deploy/haproxy.cfg as rendered by scripts/haproxy-config.ts (the same one
 * `npm run cluster` runs). Used by the tests and by scripts/cluster.ts.
 *
 * Guarantees: listens on 127.0.0.1 only (a free port unless one is given); startHaproxy resolves
 * once the port accepts connections and the admin socket answers, or rejects with HAProxy's output;
 * every HAProxy started here is killed (and its temp dir removed) by stop(), when this process exits,
 * and on SIGINT/SIGTERM/SIGHUP (the signal is then re-raised unless someone else handles it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { HAPROXY_BIN, haproxyEnv, renderHaproxyConfig, serverNames, type HaproxyBackend } from "../../scripts/haproxy-config.ts";
import { freePort } from "./memcached.ts";
import { pollUntil } from "./wait.ts";

export interface HaproxyOptions {
  /** Port to listen on; 0 or absent = a free port. */
  port?: number;
  maxconn?: number;
  /** Also serve HAProxy's HTML stats page on a free loopback port. */
  statsPage?: boolean;
  /** Every line HAProxy writes (server state changes, alerts), as it comes. */
  onLine?: (line: string) => void;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Command prefix, e.g. ["ip", "netns", "exec", ns] to run it on a simulated host. */
  exec?: readonly string[];
}

/** One server of the backend, from `show stat`. */
export interface ServerStat {
  name: string;
  /** "UP", "DOWN", "UP 1/2" (going down), "DOWN 1/2" (going up), "MAINT", "NOLB", ... */
  status: string;
  /** Last check result: "L7OK", "L7STS" (bad status, e.g. 503), "L4CON" (refused), ... */
  checkStatus: string;
  /** Connections open to it now (a WebSocket counts while it lives). */
  current: number;
  /** Connections sent to it since start. */
  total: number;
  /** Connection attempts that failed (and were retried or redispatched). */
  connectErrors: number;
  /** Effective weight (deploy/haproxy.cfg configures 100; an agent check may lower it). */
  weight: number;
}

export interface RunningHaproxy {
  port: number;
  url: string;
  wsUrl: string;
  /** The HTML stats page, when statsPage was asked for. */
  statsUrl: string | null;
  /** Backend server names, in the order of the backends given. */
  servers: string[];
  proc: ChildProcess;
  configPath: string;
  /** The last lines HAProxy wrote (at most 500). */
  output: string[];
  /** One admin-socket command (e.g. "show stat", "disable server buzzcast/n1"); its reply. */
  command(cmd: string): Promise<string>;
  stats(): Promise<ServerStat[]>;
  /** Poll stats until `cond` holds; throws with the last stats after `timeoutMs`. */
  waitForStats(cond: (s: ServerStat[]) => boolean, what: string, timeoutMs?: number): Promise<ServerStat[]>;
  /** SIGTERM (HAProxy's hard stop), SIGKILL after 2 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Map<ChildProcess, string>();
let hooked = false;
function killAll(): void {
  for (const [child, dir] of live) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAll();
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export async function startHaproxy(backends: readonly HaproxyBackend[], opts: HaproxyOptions = {}): Promise<RunningHaproxy> {
  hookExit();
  const config = renderHaproxyConfig(backends);
  let lastError: unknown;
  // A free port can be taken between freePort() and HAProxy's bind: retry on another one.
  for (let attempt = 0; attempt < (opts.port ? 1 : 3); attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "buzzcast-haproxy-"));
    try {
      return await launch(dir, config, backends, opts);
    } catch (err) {
      lastError = err;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

async function launch(dir: string, config: string, backends: readonly HaproxyBackend[], opts: HaproxyOptions): Promise<RunningHaproxy> {
  const port = opts.port || (await freePort());
  const host = opts.host ?? "127.0.0.1";
  const statsPort = opts.statsPage ? await freePort() : null;
  const socketPath = join(dir, "admin.sock");
  const configPath = join(dir, "haproxy.cfg");
  writeFileSync(configPath, config);
  const env = haproxyEnv({
    bind: `${host}:${port}`,
    statsSocket: socketPath,
    ...(opts.maxconn === undefined ? {} : { maxconn: opts.maxconn }),
    ...(statsPort === null ? {} : { statsBind: `127.0.0.1:${statsPort}` }),
  });
  const [cmd, ...pre] = [...(opts.exec ?? []), HAPROXY_BIN];
  const proc = spawn(cmd, [...pre, "-db", "-f", configPath], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.set(proc, dir);
  const output: string[] = [];
  const onLine = (line: string): void => {
    if (output.push(line) > 500) output.shift();
    opts.onLine?.(line);
  };
  createInterface({ input: proc.stdout }).on("line", onLine);
  createInterface({ input: proc.stderr }).on("line", onLine);
  let spawnError: Error | null = null;
  proc.once("error", (err) => (spawnError = err));
  const exited = once(proc, "exit").then(() => {
    live.delete(proc);
  });

  const command = (cmd: string): Promise<string> => adminCommand(socketPath, cmd);
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError !== null || proc.exitCode !== null || proc.signalCode !== null) {
      await stop();
      throw new Error(
        `haproxy exited before it was ready (${String(spawnError ?? proc.exitCode ?? proc.signalCode)}):\n${output.join("\n")}`,
      );
    }
    if (
      (await accepts(port, host)) &&
      (await command("show info").then(
        () => true,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy not ready on :${port} within 10 s:\n${output.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  const stats = async (): Promise<ServerStat[]> => parseStats(await command("show stat"), "buzzcast");
  return {
    port,
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    statsUrl: statsPort === null ? null : `http://127.0.0.1:${statsPort}/`,
    servers: serverNames(backends),
    proc,
    configPath,
    output,
    command,
    stats,
    waitForStats: (cond, what, timeoutMs = 10_000) => pollUntil(stats, cond, `${what} (HAProxy stats)`, timeoutMs, 100),
    stop,
  };
}

function accepts(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Sends one command on the admin socket; HAProxy answers and closes (non-interactive mode). */
function adminCommand(path: string, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let reply = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`haproxy admin socket did not answer ${JSON.stringify(cmd)} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding("utf8");
    s.once("connect", () => s.write(`${cmd}\n`));
    s.on("data", (chunk: string) => (reply += chunk));
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** `show stat` CSV -> the servers of one backend (not its FRONTEND/BACKEND summary rows). */
export function parseStats(csv: string, backend: string): ServerStat[] {
  const [head, ...rows] = csv.split("\n").filter((l) => l.length > 0);
  if (head === undefined || !head.startsWith("# ")) throw new Error(`unexpected 'show stat' reply: ${csv.slice(0, 200)}`);
  const cols = head.slice(2).split(",");
  const at = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`'show stat' has no column ${name}`);
    return i;
  };
  const [px, sv, status, check, scur, stot, econ, weight] = [
    "pxname",
    "svname",
    "status",
    "check_status",
    "scur",
    "stot",
    "econ",
    "weight",
  ].map(at) as [number, number, number, number, number, number, number, number];
  const out: ServerStat[] = [];
  for (const row of rows) {
    const f = row.split(",");
    if (f[px] !== backend || f[sv] === "FRONTEND" || f[sv] === "BACKEND") continue;
    out.push({
      name: f[sv] ?? "",
      status: f[status] ?? "",
      checkStatus: f[check] ?? "",
      current: Number(f[scur] ?? 0),
      total: Number(f[stot] ?? 0),
      connectErrors: Number(f[econ] || 0),
      weight: Number(f[weight] || 0),
    });
  }
  return out;
}
