/**
 * Simulated hosts on one Linux box: each host is a network namespace with one interface `eth0` and
 * its own address in a private /24 (10.123.X.0/24, X free on this machine), plugged by a veth pair
 * into a bridge that lives in its own namespace (the switch). The test process (root namespace)
 * gets one more port on the switch, 10.123.X.254, so its ws clients and admin calls reach the hosts;
 * nothing else of the root namespace's network is touched, and no traffic leaves these addresses.
 *
 * Guarantees: every namespace and interface is named `bzsh<pid>-...` (the test process's pid), so
 * parallel runs never collide; leftovers of earlier runs whose process is gone are removed at start
 * (their processes are killed by pid, from `ip netns pids`); `destroy()` removes everything made
 * here, and so does a process exit hook / SIGINT/SIGTERM backstop. If namespaces cannot be created,
 * `createNetwork` throws with iproute2's message: the tests fail, they never skip.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";

export const PREFIX = "bzsh";

/** Runs `ip ARGS` (or another iproute2 tool); throws with its stderr. */
export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(e.stderr ?? "").trim() || e.message}`, { cause: err });
  }
}

const tryRun = (cmd: string, args: readonly string[]): boolean => {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
};

export interface HostNet {
  name: string;
  /** The namespace. */
  ns: string;
  address: string;
  /** Command prefix that runs a program on this host. */
  exec: string[];
}

export interface Network {
  /** 10.123.X (no trailing dot). */
  subnet: string;
  /** The test process's own address on the switch. */
  rootAddress: string;
  hosts: Map<string, HostNet>;
  host(name: string): HostNet;
  /** Adds a host with address subnet.`octet`. */
  addHost(name: string, octet: number): HostNet;
  /** Whether this kernel has the netem qdisc (probed once in a host namespace). */
  netem: boolean;
  destroy(): void;
}

const live = new Set<() => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const d of live) d();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      for (const d of live) d();
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Removes namespaces and root links of earlier runs (prefix + a pid that no longer runs). */
export function cleanLeftovers(): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync("/run/netns");
  } catch {
    // no namespace was ever made on this machine
  }
  for (const ns of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    for (const pid of tryPids(ns)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (tryRun("ip", ["netns", "del", ns])) removed.push(ns);
  }
  for (const line of run("ip", ["-o", "link", "show"]).split("\n")) {
    const m = new RegExp(`^\\d+: (${PREFIX}(\\d+))[@:]`).exec(line);
    if (m?.[1] && !alive(Number(m[2])) && tryRun("ip", ["link", "del", m[1]])) removed.push(m[1]);
  }
  return removed;
}

function tryPids(ns: string): number[] {
  try {
    return run("ip", ["netns", "pids", ns])
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** The first 10.123.X.0/24 no route of the root namespace uses yet, starting from the pid. */
function freeSubnet(): string {
  const routes = run("ip", ["-4", "route", "show", "table", "all"]);
  for (let i = 0; i < 250; i++) {
    const x = (process.pid + i) % 250;
    if (!routes.includes(`10.123.${x}.`)) return `10.123.${x}`;
  }
  throw new Error("no free 10.123.X.0/24 subnet for simulated hosts");
}

/** Creates the switch and the test process's port on it. Hosts are added with addHost. */
export function createNetwork(): Network {
  hookExit();
  cleanLeftovers();
  const tag = `${PREFIX}${process.pid}`;
  const sw = `${tag}-sw`;
  const rootLink = tag; // <= 15 chars: bzsh + a pid
  const subnet = freeSubnet();
  const made: string[] = [];
  const hosts = new Map<string, HostNet>();
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    live.delete(destroy);
    for (const h of hosts.values()) for (const pid of tryPids(h.ns)) tryKill(pid);
    tryRun("ip", ["link", "del", rootLink]);
    for (const ns of made.reverse()) tryRun("ip", ["netns", "del", ns]);
  };
  live.add(destroy);
  try {
    run("ip", ["netns", "add", sw]);
  } catch (err) {
    destroy();
    throw new Error(`simulated hosts need network namespaces (run as root with iproute2): ${(err as Error).message}`, { cause: err });
  }
  made.push(sw);
  try {
    run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    run("ip", ["-n", sw, "link", "add", "root", "type", "veth", "peer", "name", rootLink, "netns", String(process.pid)]);
    run("ip", ["-n", sw, "link", "set", "root", "master", "br0", "up"]);
    run("ip", ["addr", "add", `${subnet}.254/24`, "dev", rootLink]);
    run("ip", ["link", "set", rootLink, "up"]);
  } catch (err) {
    destroy();
    throw err;
  }
  let netem: boolean | null = null;
  const net: Network = {
    subnet,
    rootAddress: `${subnet}.254`,
    hosts,
    host(name) {
      const h = hosts.get(name);
      if (!h) throw new Error(`no simulated host ${name}`);
      return h;
    },
    addHost(name, octet) {
      const ns = `${tag}-${name}`;
      run("ip", ["netns", "add", ns]);
      made.push(ns);
      run("ip", ["-n", sw, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      run("ip", ["-n", sw, "link", "set", name, "master", "br0", "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      run("ip", ["-n", ns, "addr", "add", `${subnet}.${octet}/24`, "dev", "eth0"]);
      run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      const h = { name, ns, address: `${subnet}.${octet}`, exec: ["ip", "netns", "exec", ns] };
      hosts.set(name, h);
      return h;
    },
    get netem() {
      if (netem === null) {
        const probe = [...hosts.values()][0];
        if (!probe) throw new Error("add a host before probing netem");
        netem = tryRun("tc", ["-n", probe.ns, "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "0ms"]);
        if (netem) run("tc", ["-n", probe.ns, "qdisc", "del", "dev", "eth0", "root"]);
      }
      return netem;
    },
    destroy,
  };
  return net;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
