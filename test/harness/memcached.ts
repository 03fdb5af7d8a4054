/**
 * Starts a real memcached (/usr/bin/memcached) on a free loopback port for tests.
 *
 * Guarantees: listens on 127.0.0.1 only; startMemcached resolves once the server answers `version`
 * (or rejects within ~5 s with its stderr); every child is killed by stop(), and, as a backstop,
 * when this process exits or receives SIGINT/SIGTERM/SIGHUP (the signal is then re-raised so the
 * process still dies of it). A paused (SIGSTOP) child is killed too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";

export const MEMCACHED_BIN = "/usr/bin/memcached";

/** Where and how to run it; the defaults are loopback, a free port, a plain spawn. */
export interface MemcachedOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port (default: a free loopback port). */
  port?: number;
  /** Command prefix, e.g. ["ip", "netns", "exec", ns] to run it on a simulated host. */
  exec?: readonly string[];
}

export interface RunningMemcached {
  host: string;
  port: number;
  /** "127.0.0.1:PORT", the MEMCACHED_SERVERS syntax. */
  address: string;
  /** Kills the server (SIGTERM, SIGKILL after 2 s). Idempotent. */
  stop(): Promise<void>;
  /**
   * SIGSTOP, resolved once every thread of the server has stopped (a group stop is not immediate:
   * a worker thread can still answer a request right after kill() returns). Connections are then
   * still accepted by the kernel, but nothing is answered.
   */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
  /** Stops and starts again on the same port, empty. */
  restart(): Promise<void>;
  /** Text-protocol `stats` of the current process. */
  stats(): Promise<Record<string, string>>;
  flushAll(): Promise<void>;
}

const children = new Set<ChildProcess>();
let backstopInstalled = false;

function killAllNow(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL"); // also ends a SIGSTOPped process
    } catch {
      // already gone: nothing left to clean up
    }
  }
  children.clear();
}

function installBackstop(): void {
  if (backstopInstalled) return;
  backstopInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = (): void => {
      killAllNow();
      process.removeListener(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port assigned");
  return address.port;
}

/** Sends one text-protocol command and resolves the reply once `isComplete(reply)` holds. */
export function textCommand(
  port: number,
  command: string,
  isComplete: (reply: string) => boolean,
  timeoutMs = 2000,
  host = "127.0.0.1",
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let reply = "";
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error(`memcached :${port} did not answer ${JSON.stringify(command)} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (isComplete(reply)) finish();
    });
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(new Error(`memcached :${port} closed the connection; got ${JSON.stringify(reply)}`)));
  });
}

function spawnMemcached(port: number, opts: MemcachedOptions = {}): { child: ChildProcess; stderr: () => string } {
  const args = ["-l", opts.host ?? "127.0.0.1", "-p", String(port), "-U", "0", "-t", "1", "-m", "64"];
  if (process.getuid?.() === 0) args.push("-u", "nobody"); // memcached refuses to run as root without -u
  const [cmd, ...pre] = [...(opts.exec ?? []), MEMCACHED_BIN];
  const child = spawn(cmd, [...pre, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let stderr = "";
  child.on("error", (err) => {
    stderr += `spawn ${MEMCACHED_BIN} failed: ${err.message}`;
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk;
  });
  return { child, stderr: () => stderr };
}

/** Resolves when the server answers `version`; rejects if it exits first or after `timeoutMs`. */
async function waitReady(child: ChildProcess, port: number, stderr: () => string, timeoutMs = 5000, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`memcached on :${port} exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    }
    try {
      const reply = await textCommand(port, "version", (r) => r.includes("\r\n"), 500, host);
      if (reply.startsWith("VERSION ")) return;
    } catch {
      // not listening yet: retry until the deadline
    }
    if (Date.now() > deadline) throw new Error(`memcached on :${port} not ready after ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls /proc/PID/task/<tid>/stat until every thread is in state T (stopped). */
async function waitAllThreadsStopped(child: ChildProcess, port: number, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const threadStates = (): string[] =>
    readdirSync(`/proc/${child.pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    });
  while (!threadStates().every((state) => state === "T" || state === "t")) {
    if (Date.now() > deadline) throw new Error(`memcached :${port} did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGCONT"); // a paused process would not act on SIGTERM
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
}

export async function startMemcached(opts: MemcachedOptions = {}): Promise<RunningMemcached> {
  installBackstop();
  let lastError: unknown;
  for (let attempt = 0; attempt < (opts.port ? 1 : 3); attempt++) {
    const port = opts.port ?? (await freePort());
    const started = spawnMemcached(port, opts);
    try {
      await waitReady(started.child, port, started.stderr, 5000, opts.host);
      return handle(port, started.child, opts);
    } catch (err) {
      lastError = err; // e.g. the port was taken between freePort() and bind: try another
      await stopChild(started.child);
    }
  }
  throw lastError;
}

function handle(port: number, first: ChildProcess, opts: MemcachedOptions = {}): RunningMemcached {
  let child = first;
  const host = opts.host ?? "127.0.0.1";
  const signal = (sig: NodeJS.Signals): void => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`memcached :${port} is not running`);
    child.kill(sig);
  };
  return {
    host,
    port,
    address: `${host}:${port}`,
    stop: () => stopChild(child),
    async pause() {
      signal("SIGSTOP");
      await waitAllThreadsStopped(child, port);
    },
    resume: () => signal("SIGCONT"),
    async restart() {
      await stopChild(child);
      const started = spawnMemcached(port, opts);
      child = started.child;
      await waitReady(child, port, started.stderr, 5000, host);
    },
    async stats() {
      const reply = await textCommand(port, "stats", (r) => r.endsWith("END\r\n"), 2000, host);
      const stats: Record<string, string> = {};
      for (const line of reply.split("\r\n")) {
        const m = /^STAT (\S+) (.*)$/.exec(line);
        if (m?.[1] !== undefined && m[2] !== undefined) stats[m[1]] = m[2];
      }
      return stats;
    },
    async flushAll() {
      const reply = await textCommand(port, "flush_all", (r) => r.endsWith("\r\n"), 2000, host);
      if (reply !== "OK\r\n") throw new Error(`flush_all answered ${JSON.stringify(reply)}`);
    },
  };
}
