/** Command line of `npm run bench -- <scenario> [options]`, parsed and checked once. */
import { parseArgs } from "node:util";
import { WIRE_PROTOCOLS, type WireProtocol } from "../generator/wire-protocol.ts";
import type { BaselineKind } from "./server-process.ts";

export const SCENARIOS = ["ingest", "fanout", "connections", "show"] as const;
export type Scenario = (typeof SCENARIOS)[number];
const BASELINES: readonly BaselineKind[] = ["uws", "ws", "socketio", "uws-deflate"];

export interface BenchOptions {
  scenario: Scenario;
  urls: string[];
  start: boolean;
  nodes: number;
  serverEnv: Record<string, string>;
  serverPid: number | null;
  adminToken: string | null;
  connections: number;
  /** ingest: idle connections beside the senders, whose frames give the tick figures. */
  observers: number;
  durationSec: number;
  rate: number;
  mode: "flood" | "paced";
  batch: number;
  show: string | null;
  act: string | null;
  connectRate: number;
  workers: number;
  sourceAddresses: number;
  sndbuf: number;
  tcpMemBudgetBytes: number;
  json: string | null;
  html: string | null;
  outDir: string;
  baselines: BaselineKind[];
  /** buzzcast wire protocols: the first is the main run; each other one runs after it on a fresh server. */
  protocols: WireProtocol[];
  /** Offer permessage-deflate to every server (a server with compression enabled accepts it). */
  deflate: boolean;
  /** fanout: a fresh show of this many acts (0 = the existing show). */
  acts: number;
  /** fanout with --acts: flood every act up to this total before measuring (7 digits from 1,000,000). */
  seedTotal: number;
  tickMs: number;
  quiet: boolean;
  /** The command line as typed (after the scenario), for the report. */
  argv: string[];
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage: npm run bench -- <ingest|fanout|connections|show> [options]
  --url ws://host:port/ws   server to load (repeat or comma-separate to spread over nodes)
  --start                   start buzzcast itself (BUZZ_POLICY=unlimited RATE_LIMIT_PER_SEC=0 PORT=0)
  --nodes K                 with --start: K server processes (connections beyond one process's 20k files)
  --server-env KEY=VALUE    extra environment for started servers (repeatable)
  --server-pid PID          sample CPU and memory of a server you started yourself
  --admin-token TOKEN       admin token of a --url server (the show scenario drives the stage)
  --connections N           connections (ingest 200, fanout 10000, connections 10000, show 2000)
  --observers N             ingest: idle connections watching the tick beside the senders (default 100)
  --duration SECONDS        measured phase (default 10; show: per act)
  --rate N                  buzzes/s in total; 0 = as fast as allowed (ingest 0, fanout 50, show 500)
  --mode flood|paced        flood: many frames per write; paced: one frame per write (default flood)
  --batch N                 frames per write in flood mode (default 256)
  --show ID                 show to join (default demo; show scenario creates bench-<time>)
  --act ID                  act to buzz (default: the act open on stage)
  --connect-rate N          connections opened per second (default: connections 2000, else 0 = no limit)
  --workers N               generator processes (default: one per 18,000 connections)
  --source-addresses N      loopback source addresses 127.0.0.2.. to spread over (default 8)
  --sndbuf BYTES            SO_SNDBUF per generator socket (default 65536; 0 = kernel default)
  --tcp-mem-budget MB       pause sending while kernel TCP memory exceeds this (default 64; 0 = off)
  --baseline uws,ws,socketio,uws-deflate  run the same scenario against these baselines too
                            (uws-deflate: bare uWS publishing v1 JSON with permessage-deflate, SHARED_COMPRESSOR)
  --protocol v1|v2|v1,v2    buzzcast wire protocol (default v1); a list runs each on a fresh server, same command
  --deflate                 offer permessage-deflate in every handshake (counts compressed bytes, inflates to read)
  --acts N                  fanout: a fresh show with N acts (needs the admin token: --start or --admin-token)
  --seed-total N            with --acts: flood each act up to N buzzes first (e.g. 1000000: 7-digit totals)
  --tick-ms MS              TICK_MS for started servers (default 100)
storm: npm run bench -- storm [--viewers 15000] [--nodes 3] [--faults drain,kill] [--pacing on,off]  (own deployment and report)
viewer-burst: npm run bench -- viewer-burst [--viewers 20000] [--nodes 3] [--acts 2] [--spread-ms 1000]
              [--persist-ms 1000] [--runs tokens+audit,anon+audit,tokens-noaudit]  (own deployment and report)
  --json FILE  --html FILE  --out DIR (default bench/reports)
  --quiet                   no live progress line`;

function int(name: string, v: string | undefined, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got "${v}")`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: "string", multiple: true },
      start: { type: "boolean" },
      nodes: { type: "string" },
      "server-env": { type: "string", multiple: true },
      "server-pid": { type: "string" },
      "admin-token": { type: "string" },
      connections: { type: "string" },
      observers: { type: "string" },
      duration: { type: "string" },
      rate: { type: "string" },
      mode: { type: "string" },
      batch: { type: "string" },
      show: { type: "string" },
      act: { type: "string" },
      "connect-rate": { type: "string" },
      workers: { type: "string" },
      "source-addresses": { type: "string" },
      sndbuf: { type: "string" },
      "tcp-mem-budget": { type: "string" },
      baseline: { type: "string" },
      protocol: { type: "string" },
      deflate: { type: "boolean" },
      acts: { type: "string" },
      "seed-total": { type: "string" },
      "tick-ms": { type: "string" },
      json: { type: "string" },
      html: { type: "string" },
      out: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const scenario = positionals[0];
  if (!SCENARIOS.includes(scenario as Scenario)) throw new UsageError(`unknown scenario "${scenario ?? ""}"\n${USAGE}`);
  const s = scenario as Scenario;
  const urls = (values.url ?? []).flatMap((u) => u.split(",")).filter((u) => u !== "");
  for (const u of urls) {
    const parsed = new URL(u);
    if (parsed.protocol !== "ws:") throw new UsageError(`--url must be ws://host:port/path (got ${u})`);
    if (!/^127\./.test(parsed.hostname) && parsed.hostname !== "localhost") throw new UsageError(`--url must be on loopback (got ${u})`);
  }
  const start = values.start ?? false;
  if (!start && urls.length === 0) throw new UsageError("give --url ws://host:port/ws or --start");
  if (start && urls.length > 0) throw new UsageError("--start and --url are exclusive");
  const mode = values.mode ?? "flood";
  if (mode !== "flood" && mode !== "paced") throw new UsageError(`--mode must be flood or paced (got ${mode})`);
  const serverEnv: Record<string, string> = {};
  for (const kv of values["server-env"] ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new UsageError(`--server-env wants KEY=VALUE (got ${kv})`);
    serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const baselines = (values.baseline ?? "").split(",").filter((b) => b !== "") as BaselineKind[];
  for (const b of baselines) if (!BASELINES.includes(b)) throw new UsageError(`--baseline takes ${BASELINES.join(",")} (got ${b})`);
  const protocols = (values.protocol ?? "v1").split(",").filter((p) => p !== "") as WireProtocol[];
  for (const p of protocols)
    if (!WIRE_PROTOCOLS.includes(p)) throw new UsageError(`--protocol takes ${WIRE_PROTOCOLS.join(",")} (got ${p})`);
  if (protocols.length === 0 || new Set(protocols).size !== protocols.length) throw new UsageError("--protocol wants v1, v2 or v1,v2");
  if (protocols.length > 1 && !start) throw new UsageError("--protocol with several protocols needs --start (each runs on a fresh server)");
  if (protocols.includes("v2") && !["ingest", "fanout", "show"].includes(s))
    throw new UsageError("--protocol v2 applies to ingest, fanout and show");
  const acts = int("acts", values.acts, 0);
  if (acts > 0 && s !== "fanout") throw new UsageError("--acts applies to fanout");
  if (acts > 100) throw new UsageError("--acts must be at most 100 (the protocol's limit)");
  const seedTotal = int("seed-total", values["seed-total"], 0);
  if (seedTotal > 0 && acts === 0) throw new UsageError("--seed-total needs --acts");
  const defaults = { ingest: [200, 0], fanout: [10_000, 50], connections: [10_000, 0], show: [2_000, 500] } as const;
  return {
    scenario: s,
    urls,
    start,
    nodes: int("nodes", values.nodes, 1, 1),
    serverEnv,
    serverPid: values["server-pid"] === undefined ? null : int("server-pid", values["server-pid"], 0, 1),
    adminToken: values["admin-token"] ?? null,
    connections: int("connections", values.connections, defaults[s][0], 1),
    observers: int("observers", values.observers, 100),
    durationSec: int("duration", values.duration, 10, 1),
    rate: int("rate", values.rate, defaults[s][1]),
    mode,
    batch: int("batch", values.batch, 256, 1),
    show: values.show ?? null,
    act: values.act ?? null,
    connectRate: int("connect-rate", values["connect-rate"], s === "connections" ? 2000 : 0),
    workers: int("workers", values.workers, 0),
    sourceAddresses: int("source-addresses", values["source-addresses"], 8, 1),
    sndbuf: int("sndbuf", values.sndbuf, 65_536),
    tcpMemBudgetBytes: int("tcp-mem-budget", values["tcp-mem-budget"], 64) * 2 ** 20,
    json: values.json ?? null,
    html: values.html ?? null,
    outDir: values.out ?? "bench/reports",
    baselines,
    protocols,
    deflate: values.deflate ?? false,
    acts,
    seedTotal,
    tickMs: int("tick-ms", values["tick-ms"], 100, 10),
    quiet: values.quiet ?? false,
    argv,
  };
}
