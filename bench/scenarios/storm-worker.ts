/**
 * Generator process of the storm scenario (forked by storm.ts; at most 10,000 viewers each). Every
 * viewer is one raw WebSocket (LeanConnection) that says hello and waits for its welcome, and
 * reconnects the way the client library does (shared/codes.ts's rule): after the error frame's
 * `retryAfterMs` when there is one, else "immediate" jitter [0, 1 s) after a drain close of a live
 * connection, else full-jitter backoff (attempt n: [0, min(30 s, 0.5 s x 2^n))). A reconnect goes
 * to one of the other nodes, as a balancer that health-checks /readyz would send it.
 * Counted from the `mark` command on: upgrades refused (503), other failed attempts, closes by code,
 * attempt -> welcome times, and when the last viewer was live again.
 */
import { RECONNECT_BACKOFF, reconnectDelayMs, reconnectRule } from "../../shared/codes.ts";
import { wsDialect } from "../generator/dialect.ts";
import { LeanConnection, type LeanEvents } from "../generator/lean-connection.ts";

export interface StormPlan {
  type: "plan";
  from: number;
  to: number;
  ports: number[];
  /** Node index of viewer i's first connection. */
  homes: number[];
  inFlight: number;
}
export type StormCommand = StormPlan | { type: "connect" } | { type: "mark" } | { type: "report" } | { type: "close" };

export interface StormReport {
  type: "report";
  total: number;
  live: number;
  /** Since `mark`: */
  affected: number;
  refused: number;
  failed: number;
  closes: Record<string, number>;
  welcomeMs: number[];
  /** Date.now() of the latest welcome since `mark` (0: none yet). */
  lastLiveAt: number;
}

interface Viewer {
  conn: LeanConnection;
  node: number;
  live: boolean;
  attempt: number;
  startedAt: number;
  retryAfterMs: number | undefined;
  queued: boolean;
}

const WELCOME = Buffer.from('{"type":"welcome"');
const ERROR = Buffer.from('{"type":"error"');
const readBuffer = Buffer.alloc(256 * 1024);
let plan: StormPlan | null = null;
const viewers: Viewer[] = [];
const queue: Viewer[] = [];
let inFlight = 0;
let live = 0;
let marked = false;
const stats = { affected: 0, refused: 0, failed: 0, closes: {} as Record<string, number>, welcomeMs: [] as number[], lastLiveAt: 0 };
const down = new Set<number>();

const startsWith = (d: Buffer, s: number, e: number, p: Buffer) => e - s >= p.length && d.compare(p, 0, p.length, s, s + p.length) === 0;

const events: LeanEvents = {
  open(c) {
    c.send("hello", `{"type":"hello","protocol":1,"show":"demo","viewer":"storm-${c.id}"}`);
  },
  message(c, data, start, end) {
    const v = viewers[c.id]!;
    if (startsWith(data, start, end, WELCOME) && !v.live) {
      v.live = true;
      v.attempt = 0;
      live++;
      inFlight--;
      if (marked) {
        stats.welcomeMs.push(Date.now() - v.startedAt);
        stats.lastLiveAt = Date.now();
      }
      pump();
    } else if (startsWith(data, start, end, ERROR)) {
      v.retryAfterMs = (JSON.parse(data.toString("utf8", start, end)) as { retryAfterMs?: number }).retryAfterMs;
    }
  },
  closed(c, code, _reason, error) {
    const v = viewers[c.id]!;
    const wasLive = v.live;
    if (wasLive) {
      v.live = false;
      live--;
      if (marked) stats.affected++;
    } else inFlight--;
    const key = wasLive ? String(code) : /\b503\b/.test(error ?? "") ? "refused" : "failed";
    if (marked) {
      if (key === "refused") stats.refused++;
      else if (key === "failed") stats.failed++;
      stats.closes[key] = (stats.closes[key] ?? 0) + 1;
    }
    let rule = reconnectRule(code);
    if (rule === "never" || rule === "fresh_token") rule = "backoff";
    if (rule === "immediate" && !wasLive) rule = "backoff";
    // What a balancer's /readyz check would see: a drained, killed or unreachable node (shedding is transient).
    if (code === 1001 || (wasLive && code === 1006) || key === "failed") down.add(v.node);
    const delay = reconnectDelayMs(rule, v.attempt, Math.random, RECONNECT_BACKOFF, v.retryAfterMs)!;
    v.retryAfterMs = undefined;
    if (rule === "backoff") v.attempt++;
    v.node = otherNode(v.node);
    setTimeout(() => enqueue(v), delay);
    pump();
  },
};

/** A node other than `from`, preferring nodes not seen failing. */
function otherNode(from: number): number {
  const n = plan!.ports.length;
  const ok = [...Array(n).keys()].filter((i) => i !== from && !down.has(i));
  const pool = ok.length > 0 ? ok : [...Array(n).keys()].filter((i) => i !== from);
  return pool.length > 0 ? pool[Math.floor(Math.random() * pool.length)]! : from;
}

function enqueue(v: Viewer): void {
  if (v.queued) return;
  v.queued = true;
  queue.push(v);
  pump();
}

/** Keeps at most `inFlight` attempts in the handshake at once (the rest wait in order). */
function pump(): void {
  const p = plan!;
  while (inFlight < p.inFlight && queue.length > 0) {
    const v = queue.shift()!;
    v.queued = false;
    inFlight++;
    v.startedAt = Date.now();
    v.conn.connect({ host: "127.0.0.1", port: p.ports[v.node]!, path: "/ws" }, { sndbuf: 0, readBuffer });
  }
}

function report(): StormReport {
  const r: StormReport = { type: "report", total: plan!.to - plan!.from, live, ...stats, welcomeMs: stats.welcomeMs };
  stats.welcomeMs = [];
  return r;
}

process.on("message", (m: StormCommand) => {
  switch (m.type) {
    case "plan":
      plan = m;
      for (let i = m.from; i < m.to; i++) {
        viewers[i] = {
          conn: new LeanConnection(i, events, wsDialect),
          node: m.homes[i - m.from]!,
          live: false,
          attempt: 0,
          startedAt: 0,
          retryAfterMs: undefined,
          queued: false,
        };
      }
      process.send!({ type: "ready" });
      return;
    case "connect":
      for (let i = plan!.from; i < plan!.to; i++) enqueue(viewers[i]!);
      return;
    case "mark":
      marked = true;
      down.clear();
      process.send!({ type: "marked" });
      return;
    case "report":
      process.send!(report());
      return;
    case "close":
      for (const v of viewers) v?.conn.destroy();
      process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
