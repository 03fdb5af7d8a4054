/**
 * `npm run cluster -- --nodes 3 [--port 8080] [--workers N] [--node-port BASE]`
 *
 * A local trial of the multi-node topology, from Debian's packages, on loopback only: one memcached
 * and one MariaDB (free ports, temp dirs), N buzzcast nodes (server/main.ts, NODE_ID n1..nN, one
 * port each) sharing them, and HAProxy (deploy/haproxy.cfg) in front on 127.0.0.1:--port.
 *
 * Stopping (Ctrl-C, SIGTERM, SIGHUP): nodes first, with SIGTERM, so each one acknowledges, closes
 * its viewers with 1001 and persists everything to MariaDB before exiting; then HAProxy, memcached
 * and MariaDB (its temp datadir is removed: nothing survives the trial). A second signal, a second
 * or more after the first, kills everything at once. Exit code 0 when every node drained cleanly.
 */
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startMariaDb } from "../test/harness/mariadb.ts";
import { freePort, startMemcached } from "../test/harness/memcached.ts";
import { startServer, type RunningServer } from "../test/harness/server.ts";
import { startHaproxy } from "../test/harness/haproxy.ts";
import { defaultMaxconn, openFilesLimit } from "./haproxy-config.ts";

const USAGE = `usage: npm run cluster -- [--nodes N] [--port P] [--workers W] [--node-port BASE]
  --nodes N          buzzcast nodes behind HAProxy (default 3, at most 32)
  --port P           HAProxy's port on 127.0.0.1 (default 8080)
  --workers W        WORKERS for every node (default: the WORKERS environment variable, else the node's default)
  --node-port BASE   nodes listen on BASE, BASE+1, ... (default: free ports)
Environment passed to every node: ADMIN_TOKEN (default: generated), LOG_LEVEL, TICK_MS, BUZZ_POLICY, ...`;

function fail(msg: string): never {
  process.stderr.write(`cluster: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function intArg(v: string | undefined, name: string, min: number, max: number, dflt: number | null): number | null {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

function parse() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        nodes: { type: "string" },
        port: { type: "string" },
        workers: { type: "string" },
        "node-port": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const nodes = intArg(values.nodes, "nodes", 1, 32, 3) ?? 3;
  return {
    nodes,
    port: intArg(values.port, "port", 1, 65535, 8080) ?? 8080,
    workers: intArg(values.workers, "workers", 1, 256, null),
    nodePort: intArg(values["node-port"], "node-port", 1, 65535 - nodes, null),
  };
}

/** Set once shutdown (or a failed start) begins: node exits are expected from then on. */
let stopping = false;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Echo a child's lines with a prefix, dropping a line that repeats the previous one. */
function echo(prefix: string): (line: string) => void {
  let last = "";
  return (line) => {
    const bare = line.replace(/^\[(NOTICE|WARNING|ALERT)\]\s+\(\d+\) : /, "");
    if (bare === last) return;
    last = bare;
    say(`${prefix} ${line}`);
  };
}

async function main(): Promise<void> {
  const args = parse();
  const adminToken = process.env.ADMIN_TOKEN || randomBytes(16).toString("hex");
  const openFiles = openFilesLimit();

  say(`starting memcached and MariaDB (Debian's packages, loopback, temp dirs) ...`);
  const [memcached, mariadb] = await Promise.all([startMemcached(), startMariaDb()]);
  const shared: Record<string, string> = {
    MEMCACHED_SERVERS: memcached.address,
    MYSQL_URL: mariadb.url,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: process.env.LOG_LEVEL || "info",
    ...(args.workers === null ? {} : { WORKERS: String(args.workers) }),
  };
  const nodes: RunningServer[] = [];
  // Each node's HAProxy agent check (its weight, lowered while it sheds connections).
  const agentPorts: number[] = [];
  const startNode = async (i: number): Promise<RunningServer> => {
    const id = `n${i + 1}`;
    say(`starting node ${id} ...`);
    agentPorts[i] = await freePort();
    const n = await startServer({
      ...shared,
      NODE_ID: id,
      PORT: args.nodePort === null ? "0" : String(args.nodePort + i),
      AGENT_PORT: String(agentPorts[i]),
    });
    nodes[i] = n;
    // startServer keeps reading stdout for its own log; a second reader echoes every line.
    const out = echo(`[${id}]`);
    createInterface({ input: n.proc.stdout! }).on("line", out);
    createInterface({ input: n.proc.stderr! }).on("line", out);
    n.proc.once("exit", (code, sig) => {
      if (!stopping) say(`[${id}] exited unexpectedly (${code ?? sig}); HAProxy takes it out of rotation`);
    });
    return n;
  };
  // The first node applies the schema and creates the demo show; the others join it.
  await startNode(0);
  await Promise.all(Array.from({ length: args.nodes - 1 }, (_, i) => startNode(i + 1)));

  say(`starting HAProxy on 127.0.0.1:${args.port} ...`);
  const lb = await startHaproxy(
    nodes.map((n, i) => ({ port: n.port, name: `n${i + 1}`, agentPort: agentPorts[i]! })),
    {
      port: args.port,
      statsPage: true,
      onLine: echo("[haproxy]"),
    },
  );
  await lb.waitForStats((s) => s.every((x) => x.status === "UP"), "every node UP in HAProxy", 15_000);

  // From here on this script owns the signals: the harnesses' handlers would kill the backends at
  // once, before the nodes persisted. Their exit hooks stay as the backstop. (process.listeners()
  // leaves out tsx's hidden relay handler, which must stay: without it tsx SIGKILLs this process.)
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    for (const l of process.listeners(sig)) process.off(sig, l);
  }
  let firstSignalAt = 0;
  const stopAll = async (signal: string): Promise<void> => {
    if (stopping) {
      if (Date.now() - firstSignalAt < 1000) return; // the same Ctrl-C, relayed by npm/tsx
      say(`${signal} again: killing everything now`);
      process.exit(130);
    }
    stopping = true;
    firstSignalAt = Date.now();
    say(`\n${signal}: draining the nodes (SIGTERM; they persist to MariaDB), then HAProxy, memcached, MariaDB ...`);
    const codes = await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
    nodes.forEach((_, i) => say(`  n${i + 1} exited with ${codes[i] ?? "a signal"}`));
    await lb.stop();
    await Promise.all([memcached.stop(), mariadb.stop()]);
    say("stopped");
    process.exit(codes.every((c) => c === 0) ? 0 : 1);
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void stopAll(sig));

  const perNode = Math.max(0, openFiles - 100);
  const viaHaproxy = defaultMaxconn(openFiles);
  say(
    [
      "",
      `buzzcast: ${args.nodes} node${args.nodes === 1 ? "" : "s"} behind HAProxy, sharing memcached and MariaDB`,
      `  buzzer page      ${lb.url}/            (WebSocket ${lb.wsUrl})`,
      `  producer console ${lb.url}/console     admin token: ${adminToken}`,
      `  HAProxy stats    ${lb.statsUrl ?? "-"}`,
      ...nodes.map((n, i) => `  node n${i + 1}          ${n.url}   (direct; /readyz, /metrics)`),
      `  memcached        ${memcached.address}`,
      `  MariaDB          127.0.0.1:${mariadb.port} (temp datadir, removed on stop)`,
      `  workers per node ${args.workers ?? process.env.WORKERS ?? "node default"}`,
      "",
      `Limits of this box: ${Number.isFinite(openFiles) ? openFiles.toLocaleString("en") : "unlimited"} open files per process.`,
      `  HAProxy spends 2 per proxied connection: maxconn ${viaHaproxy.toLocaleString("en")} viewers through this one HAProxy.`,
      `  A node spends 1 per viewer (its worker threads share it): ~${perNode.toLocaleString("en")} per node process.`,
      `  Past that: more nodes (--nodes), more HAProxy processes, or clients spread over the node ports directly.`,
      "",
      `Ctrl-C, or kill -TERM ${process.pid}, stops everything (nodes drain first and persist).`,
      "(A SIGTERM sent to npm alone is not passed on to this process: npm and sh do not forward it.)",
    ].join("\n"),
  );
}

main().catch((err: unknown) => {
  stopping = true;
  process.stderr.write(`cluster: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1); // exit hooks of the harnesses kill whatever was started
});
