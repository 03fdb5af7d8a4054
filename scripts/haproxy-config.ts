/**
 * The one place deploy/haproxy.cfg is turned into a runnable configuration, for `npm run cluster`
 * (scripts/cluster.ts) and the tests (test/harness/haproxy.ts): the file as it is, one `server` line
 * per node appended to its final backend (with `agent-check agent-port N` when the node has an agent), and the environment HAProxy expands in it ("${VAR-default}").
 * Guarantees: the rendered text differs from the template only by the appended server lines; a
 * template whose last section is not `backend buzzcast`, a bad server name/address, or a maxconn the
 * open-files limit cannot hold is refused with an Error before HAProxy is started.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const HAPROXY_TEMPLATE = fileURLToPath(new URL("../deploy/haproxy.cfg", import.meta.url));
export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? "/usr/sbin/haproxy";

/** fds HAProxy needs besides 2 per connection (listeners, checks, stats, logs); measured: 17. */
const FD_OVERHEAD = 100;

export interface HaproxyBackend {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Server name in HAProxy (stats, logs); default n1, n2, ... by position. */
  name?: string;
  /** The node's AGENT_PORT: HAProxy's agent check reads the node's weight there (lowered while it sheds). */
  agentPort?: number;
}

export interface HaproxySettings {
  /** Where viewers connect, "host:port". */
  bind: string;
  /** Connections HAProxy accepts (2 fds each); default: the most the open-files limit allows, at most 9,900. */
  maxconn?: number;
  /** Unix socket path for the admin CLI (`show stat`); none when absent. */
  statsSocket?: string;
  /** "host:port" of the HTML stats page; none when absent. */
  statsBind?: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const HOST = /^[A-Za-z0-9_.:-]{1,253}$/;

/** Server names as HAProxy will report them, in backend order. */
export function serverNames(backends: readonly HaproxyBackend[]): string[] {
  return backends.map((b, i) => b.name ?? `n${i + 1}`);
}

export function renderHaproxyConfig(backends: readonly HaproxyBackend[], template = readFileSync(HAPROXY_TEMPLATE, "utf8")): string {
  if (backends.length === 0) throw new Error("haproxy: at least one backend is needed");
  const sections = [...template.matchAll(/^(global|defaults|frontend|backend|listen|peers|resolvers|userlist)\b.*$/gm)];
  const last = sections.at(-1)?.[0].trim();
  if (last !== "backend buzzcast")
    throw new Error(`haproxy template must end with "backend buzzcast"; its last section is ${JSON.stringify(last)}`);
  const names = serverNames(backends);
  if (new Set(names).size !== names.length) throw new Error(`haproxy: server names must be unique: ${names.join(", ")}`);
  const lines = backends.map((b, i) => {
    const name = names[i] ?? "";
    const host = b.host ?? "127.0.0.1";
    if (!NAME.test(name)) throw new Error(`haproxy: bad server name ${JSON.stringify(name)}`);
    if (!HOST.test(host)) throw new Error(`haproxy: bad server host ${JSON.stringify(host)}`);
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) throw new Error(`haproxy: bad port ${b.port} for ${name}`);
    if (b.agentPort !== undefined && (!Number.isInteger(b.agentPort) || b.agentPort < 1 || b.agentPort > 65535))
      throw new Error(`haproxy: bad agent port ${b.agentPort} for ${name}`);
    const agent = b.agentPort === undefined ? "" : ` agent-check agent-port ${b.agentPort}`;
    return `    server ${name} ${host.includes(":") ? `[${host}]` : host}:${b.port}${agent}`;
  });
  return `${template.replace(/\s*$/, "\n")}${lines.join("\n")}\n`;
}

/** The environment the template reads. */
export function haproxyEnv(s: HaproxySettings, openFiles = openFilesLimit()): Record<string, string> {
  const most = maxConnectionsFor(openFiles);
  const maxconn = s.maxconn ?? defaultMaxconn(openFiles);
  if (!Number.isInteger(maxconn) || maxconn < 1) throw new Error(`haproxy: bad maxconn ${maxconn}`);
  if (maxconn > most) {
    throw new Error(
      `haproxy: maxconn ${maxconn} needs ${2 * maxconn + FD_OVERHEAD} open files; this process may open ${openFiles} (2 per proxied connection)`,
    );
  }
  return {
    BUZZCAST_BIND: s.bind,
    BUZZCAST_MAXCONN: String(maxconn),
    ...(s.statsSocket === undefined ? {} : { BUZZCAST_STATS_SOCKET: s.statsSocket }),
    ...(s.statsBind === undefined ? {} : { BUZZCAST_STATS_BIND: s.statsBind }),
  };
}

/** The template's own default (9,900), or less when the open-files limit is lower. */
export function defaultMaxconn(openFiles = openFilesLimit()): number {
  return Math.min(9900, maxConnectionsFor(openFiles));
}

/** Proxied connections one HAProxy process can hold under an open-files limit (2 fds each). */
export function maxConnectionsFor(openFiles: number): number {
  return Math.max(0, Math.floor((openFiles - FD_OVERHEAD) / 2));
}

/** The hard open-files limit of this process (children inherit it); Infinity when unlimited. */
export function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m?.[1] === "unlimited") return Number.POSITIVE_INFINITY;
    const n = Number(m?.[1]);
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // not Linux: no /proc; fall through to the conservative default below
  }
  return 20_000;
}
