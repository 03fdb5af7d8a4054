/**
 * A whole deployment on simulated hosts (netns.ts): memcached (`mc`), MariaDB (`db`), HAProxy
 * (`lb`) and N buzzcast nodes (`n1`..), each in its own namespace with its own address. Each node
 * reaches memcached and MariaDB through the shaping proxy on its own host (127.0.0.1:11211 and
 * :3306 there), so its links have a one-way delay (`delayMs`, default 1 ms) and take latency/loss
 * faults; HAProxy reaches the nodes directly (its checks and redispatch see real refusals). The
 * test process (root namespace) reaches every host over the switch.
 *
 * Guarantees: stop() kills every process and removes every namespace and link, and the exit hooks
 * of netns.ts and the service harnesses do the same if the test dies first. `faults` acts on this
 * deployment; its log says what was injected when.
 */
import type { Cluster } from "./cluster.ts";
import { freshDataDir } from "./data-dir.ts";
import { startDuplicate } from "./duplicate-node.ts";
import { Faults, type FaultTargets } from "./faults.ts";
import { startHaproxy, type RunningHaproxy } from "./haproxy.ts";
import { Partitions, netemDelay, startShapingProxy, type ShapingProxy } from "./link-faults.ts";
import { startMariaDb, type MariaDb } from "./mariadb.ts";
import { startMemcached, type RunningMemcached } from "./memcached.ts";
import { createNetwork, type Network } from "./netns.ts";
import { startServer, type RunningServer } from "./server.ts";

export interface SimOptions {
  nodes?: number;
  /** Env for every node (e.g. BUZZ_POLICY). */
  env?: Record<string, string>;
  /** Base one-way delay of each proxied link, ms (default 1). */
  delayMs?: number;
}

export interface SimDeployment {
  net: Network;
  memcached: RunningMemcached;
  mariadb: MariaDb;
  /** The database URL as seen from the root namespace (for checks). */
  mysqlUrl: string;
  /** nodes[i] is host n{i+1}; replaced when a killed node is revived. */
  nodes: RunningServer[];
  lb: RunningHaproxy;
  faults: Faults;
  /** Whether latency comes from netem (else from the shaping proxies only). */
  netem: boolean;
  /** A Cluster view for test/harness/count-audit.ts. */
  cluster: Cluster;
  nodeIndex(name: string): number;
  stop(): Promise<void>;
}

const MC_PORT = 11211;
const DB_PORT = 3306;
const NODE_PORT = 8080;

export async function startSimulatedHosts(opts: SimOptions = {}): Promise<SimDeployment> {
  const net = createNetwork();
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => {});
    net.destroy();
  };
  try {
    return await build(net, opts, stops, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

async function build(net: Network, opts: SimOptions, stops: Array<() => Promise<void>>, stop: () => Promise<void>): Promise<SimDeployment> {
  const count = opts.nodes ?? 3;
  const mcHost = net.addHost("mc", 1);
  const dbHost = net.addHost("db", 2);
  const lbHost = net.addHost("lb", 3);
  const nodeHosts = Array.from({ length: count }, (_, i) => net.addHost(`n${i + 1}`, 11 + i));
  const netem = net.netem;
  const delayMs = opts.delayMs ?? 1;
  if (netem) for (const h of net.hosts.values()) netemDelay(h, delayMs / 2);
  const proxyDelay = netem ? 0 : delayMs;

  const [memcached, mariadb] = await Promise.all([
    startMemcached({ host: mcHost.address, port: MC_PORT, exec: mcHost.exec }),
    startMariaDb({ bindAddress: dbHost.address, port: DB_PORT, exec: dbHost.exec, clientHost: `${net.subnet}.%` }),
  ]);
  stops.push(
    () => memcached.stop(),
    () => mariadb.stop(),
  );
  const mysqlUrl = mariadb.freshUrl();
  const viaProxy = new URL(mysqlUrl);
  viaProxy.host = `127.0.0.1:${DB_PORT}`;

  const proxies = new Map<string, ShapingProxy>();
  await Promise.all(
    nodeHosts.map(async (h) => {
      const p = await startShapingProxy(h, [
        { link: "mc", listen: MC_PORT, target: `${mcHost.address}:${MC_PORT}` },
        { link: "db", listen: DB_PORT, target: `${dbHost.address}:${DB_PORT}` },
      ]);
      stops.push(() => p.stop());
      await Promise.all([p.set("mc", { delayMs: proxyDelay }), p.set("db", { delayMs: proxyDelay })]);
      proxies.set(h.name, p);
    }),
  );

  const dataDir = freshDataDir();
  stops.push(async () => dataDir.remove());
  const env = {
    DATA_DIR: dataDir.path,
    MEMCACHED_SERVERS: `127.0.0.1:${MC_PORT}`,
    MYSQL_URL: viaProxy.toString(),
    TICK_MS: "50",
    PERSIST_INTERVAL_MS: "200",
    PORT: String(NODE_PORT),
    ...opts.env,
  };
  const nodes: RunningServer[] = [];
  const startNode = async (i: number): Promise<RunningServer> => {
    const h = nodeHosts[i]!;
    const n = await startServer({ ...env, HOST: h.address, NODE_ID: h.name }, 30_000, { exec: h.exec });
    nodes[i] = n;
    return n;
  };
  stops.push(async () => {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  });
  await startNode(0); // creates the schema
  await Promise.all(nodeHosts.slice(1).map((_, i) => startNode(i + 1)));

  const lb = await startHaproxy(
    nodeHosts.map((h) => ({ host: h.address, port: NODE_PORT, name: h.name })),
    { host: lbHost.address, port: 80, exec: lbHost.exec },
  );
  stops.push(() => lb.stop());
  await lb.waitForStats((s) => s.length === count && s.every((x) => x.status === "UP"), "every node UP", 20_000);

  const nodeIndex = (name: string): number => {
    const i = nodeHosts.findIndex((h) => h.name === name);
    if (i < 0) throw new Error(`no node ${name}`);
    return i;
  };
  const targets: FaultTargets = {
    host: (name) => net.host(name),
    proxy: (node) => proxies.get(node) ?? fail(`no proxy on ${node}`),
    partitions: new Partitions(),
    baseDelayMs: proxyDelay,
    async signal(target, sig) {
      if (target === "mc") return sig === "SIGSTOP" ? memcached.pause() : sig === "SIGCONT" ? memcached.resume() : fail(`mc: ${sig}`);
      if (target === "db") return sig === "SIGSTOP" ? mariadb.pause() : sig === "SIGCONT" ? mariadb.resume() : fail(`db: ${sig}`);
      if (target === "lb") return void lb.proc.kill(sig);
      const n = nodes[nodeIndex(target)]!;
      if (sig === "SIGKILL" || sig === "SIGTERM") await n.stop(sig);
      else n.proc.kill(sig);
    },
    async revive(target) {
      await startNode(nodeIndex(target));
    },
    restart: (target) => (target === "mc" ? memcached.restart() : mariadb.restart()),
    duplicate(target) {
      const h = nodeHosts[nodeIndex(target)]!;
      const d = startDuplicate(h.exec, { ...env, HOST: h.address, NODE_ID: h.name, PORT: String(NODE_PORT + 1) });
      stops.push(() => d.stop());
      return d;
    },
  };
  const cluster: Cluster = {
    memcached,
    mariadb,
    mysqlUrl,
    nodes,
    env,
    addNode: () => Promise.reject(new Error("simulated hosts: use faults to kill and revive nodes")),
    stop,
  };
  return { net, memcached, mariadb, mysqlUrl, nodes, lb, faults: new Faults(targets), netem, cluster, nodeIndex, stop };
}

function fail(message: string): never {
  throw new Error(message);
}
