/**
 * Links between simulated hosts: the shaping proxies (delay-proxy-main.ts) on a client host, and
 * partitions made with routes. See docs/fault-testing.md for what each fault really does.
 *
 * Guarantees: set() resolves once the proxy applies the new shape; partitions are reference-counted
 * per (host, destination), so overlapping faults on the same pair heal only when the last one stops.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { run, type HostNet } from "./netns.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = fileURLToPath(new URL("./delay-proxy-main.ts", import.meta.url));

export interface LinkShape {
  /** One-way delay per direction. */
  delayMs?: number;
  /** Chance (0-100) that a chunk is "lost": it and what follows wait rtoMs more. */
  lossPct?: number;
  rtoMs?: number;
}

export interface ProxyLink {
  link: string;
  /** Port on the client host's 127.0.0.1. */
  listen: number;
  /** "address:port" on the server host. */
  target: string;
}

export interface ShapingProxy {
  host: HostNet;
  set(link: string, shape: LinkShape): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the proxy on `host` (one process, one listener per link); resolves when all listen. */
export async function startShapingProxy(host: HostNet, links: readonly ProxyLink[]): Promise<ShapingProxy> {
  const [cmd, ...pre] = [...host.exec, process.execPath];
  const child: ChildProcess = spawn(cmd, [...pre, "--import", "tsx", MAIN, JSON.stringify(links)], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const pending = new Map<number, () => void>();
  let ready: () => void = () => {};
  const readyP = new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once("exit", (code) => reject(new Error(`shaping proxy on ${host.name} exited (${String(code)}): ${stderr}`)));
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const msg = JSON.parse(line) as { ready?: boolean; id?: number };
    if (msg.ready) ready();
    if (msg.id !== undefined) pending.get(msg.id)?.();
  });
  await readyP;
  let nextId = 0;
  return {
    host,
    set(link, shape) {
      const id = ++nextId;
      return new Promise<void>((resolve) => {
        pending.set(id, () => {
          pending.delete(id);
          resolve();
        });
        child.stdin!.write(`${JSON.stringify({ id, link, ...shape })}\n`);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    },
  };
}

/** Blackhole routes, counted per (namespace, destination). */
export class Partitions {
  private readonly refs = new Map<string, number>();

  /** Packets from `from` to `to` are dropped at `from` (both ways: also the reverse route). */
  add(from: HostNet, to: HostNet, oneWay: boolean): void {
    this.route(from, to, +1);
    if (!oneWay) this.route(to, from, +1);
  }

  remove(from: HostNet, to: HostNet, oneWay: boolean): void {
    this.route(from, to, -1);
    if (!oneWay) this.route(to, from, -1);
  }

  private route(at: HostNet, to: HostNet, delta: number): void {
    const key = `${at.ns} ${to.address}`;
    const before = this.refs.get(key) ?? 0;
    const after = before + delta;
    this.refs.set(key, after);
    if (before === 0 && after === 1) run("ip", ["-n", at.ns, "route", "add", "blackhole", `${to.address}/32`]);
    if (before === 1 && after === 0) run("ip", ["-n", at.ns, "route", "del", "blackhole", `${to.address}/32`]);
  }
}

/** netem on a host's eth0 (only where the kernel has it): base delay for every link of the host. */
export function netemDelay(host: HostNet, delayMs: number): void {
  run("tc", ["-n", host.ns, "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", `${delayMs}ms`]);
}
