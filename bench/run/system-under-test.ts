/**
 * What a run loads: servers the bench started (buzzcast or a baseline, one or more processes) or
 * servers given by --url. Knows their WebSocket targets, HTTP base URLs, pids to sample, the admin
 * token, and the dialect to speak.
 */
import type { DialectName } from "../generator/dialect.ts";
import type { Target } from "../generator/lean-connection.ts";
import { DIALECT, type ServerKind, type StartedServer, startServerProcess } from "./server-process.ts";

export interface SystemUnderTest {
  kind: ServerKind;
  dialect: DialectName;
  targets: Target[];
  httpUrls: string[];
  /** Server processes to sample (empty when unknown). */
  pids: number[];
  /** Event-loop threads serving connections, over all server processes (for "who was the limit"). */
  serverThreads: number;
  adminToken: string | null;
  startedByBench: boolean;
  /** Full GC in every server process, when the bench started them (false otherwise). */
  collectGarbage(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startSystem(kind: ServerKind, nodes: number, env: Record<string, string>): Promise<SystemUnderTest> {
  const started: StartedServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) started.push(await startServerProcess(kind, env));
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  return {
    kind,
    dialect: DIALECT[kind],
    targets: started.map((s) => ({ host: "127.0.0.1", port: s.port, path: "/ws" })),
    httpUrls: started.map((s) => s.httpUrl),
    pids: started.map((s) => s.pid),
    serverThreads: started.reduce((n, s) => n + s.workers, 0),
    adminToken: started[0]?.adminToken ?? null,
    startedByBench: true,
    async collectGarbage() {
      for (const s of started) s.collectGarbage();
      await new Promise((r) => setTimeout(r, 500));
      return true;
    },
    async stop() {
      const codes = await Promise.all(started.map((s) => s.stop()));
      const bad = codes.map((c, i) => ({ c, i })).filter(({ c }) => c !== 0 && c !== null);
      if (bad.length > 0 && kind === "buzzcast") {
        throw new Error(`server exited with ${bad.map((b) => b.c).join(",")}:\n${started[bad[0]!.i]!.tail().join("\n")}`);
      }
    },
  };
}

export function externalSystem(urls: string[], pid: number | null, adminToken: string | null): SystemUnderTest {
  return {
    kind: "buzzcast",
    dialect: "ws",
    targets: urls.map((u) => {
      const p = new URL(u);
      return { host: p.hostname, port: Number(p.port || 80), path: p.pathname + p.search };
    }),
    httpUrls: urls.map((u) => {
      const p = new URL(u);
      return `http://${p.hostname}:${p.port || 80}`;
    }),
    pids: pid === null ? [] : [pid],
    serverThreads: Math.max(1, urls.length),
    adminToken,
    startedByBench: false,
    async collectGarbage() {
      return false;
    },
    async stop() {},
  };
}
