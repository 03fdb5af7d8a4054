/**
 * A shared deployment on loopback for end-to-end tests: one real memcached, one real MariaDB and
 * N buzzcast server processes pointed at them. Everything is stopped by `stop()` (and killed on exit).
 */
import { startMariaDb, type MariaDb } from "./mariadb.ts";
import { startMemcached, type RunningMemcached } from "./memcached.ts";
import { admin, startServer, type RunningServer } from "./server.ts";
import { pollUntil } from "./wait.ts";

export interface Cluster {
  memcached: RunningMemcached;
  mariadb: MariaDb;
  mysqlUrl: string;
  nodes: RunningServer[];
  /** Env shared by every node (plus NODE_ID). */
  env: Record<string, string>;
  /** Start one more node (or restart one) with the shared env. */
  addNode(nodeId: string, extra?: Record<string, string>): Promise<RunningServer>;
  stop(): Promise<void>;
}

export async function startCluster(nodeCount: number, env: Record<string, string> = {}): Promise<Cluster> {
  const [memcached, mariadb] = await Promise.all([startMemcached(), startMariaDb()]);
  const mysqlUrl = mariadb.freshUrl();
  const shared = { MEMCACHED_SERVERS: memcached.address, MYSQL_URL: mysqlUrl, TICK_MS: "50", PERSIST_INTERVAL_MS: "200", ...env };
  const nodes: RunningServer[] = [];
  const addNode = async (nodeId: string, extra: Record<string, string> = {}) => {
    const n = await startServer({ ...shared, NODE_ID: nodeId, ...extra });
    nodes.push(n);
    return n;
  };
  // The first node creates the schema and the demo show; the others start after it.
  await addNode("n1");
  await Promise.all(Array.from({ length: nodeCount - 1 }, (_, i) => addNode(`n${i + 2}`)));
  return {
    memcached,
    mariadb,
    mysqlUrl,
    nodes,
    env: shared,
    addNode,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
      await Promise.all([memcached.stop(), mariadb.stop()]);
    },
  };
}

export interface ShowStateJson {
  epoch: string;
  totals: Record<string, number>;
  durable?: Record<string, number>;
  stage: { act: string | null; open: boolean };
}

export async function showState(node: RunningServer, show: string): Promise<ShowStateJson> {
  const res = await fetch(`${node.url}/api/shows/${show}`);
  if (!res.ok) throw new Error(`GET ${show} on ${node.url}: ${res.status}`);
  return (await res.json()) as ShowStateJson;
}

/** Create `show` with `acts` through `node` and open voting for the first act. */
export async function openShow(node: RunningServer, show: string, acts: string[]): Promise<void> {
  await admin(node, "PUT", `/api/shows/${show}`, { title: show, acts: acts.map((id) => ({ id, name: id })) });
  await admin(node, "POST", `/api/shows/${show}/stage`, { act: acts[0], open: true });
}

/**
 * Open `show` through the first node, then wait until every node answers with voting open for the
 * first act (other nodes hear of the show through the shared cache within a poll or two).
 */
export async function openShowOnAll(nodes: readonly RunningServer[], show: string, acts: string[], timeoutMs = 5000): Promise<void> {
  const [first] = nodes;
  if (!first) throw new Error("openShowOnAll needs at least one node");
  await openShow(first, show, acts);
  await Promise.all(
    nodes.map((n) =>
      pollUntil(
        () => showState(n, show),
        (s) => s.stage.open && s.stage.act === acts[0],
        `${show} open for ${String(acts[0])} on ${n.url}`,
        timeoutMs,
      ),
    ),
  );
}

/** The former name of pollUntil (test/harness/wait.ts), same arguments: for tests written against it. */
export { pollUntil as eventually } from "./wait.ts";
