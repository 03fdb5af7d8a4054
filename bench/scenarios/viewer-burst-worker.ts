/**
 * Generator process of the viewer-burst scenario (forked by viewer-burst.ts; one per 10,000
 * viewers: a process may hold 20,000 files here). Each viewer is one raw WebSocket connection
 * (LeanConnection) with its own signed token (distinct `sub`), minted here before any timing.
 * Commands arrive over IPC; every reply carries wall-clock times (Date.now()) so the runner can
 * line them up with the record's commits.
 */
import { createSigner } from "fast-jwt";
import { wsDialect } from "../generator/dialect.ts";
import { LeanConnection, type LeanEvents } from "../generator/lean-connection.ts";

export interface BurstPlan {
  type: "plan";
  worker: number;
  /** Viewer index range [from, to); viewer i connects to ports[i % ports.length]. */
  from: number;
  to: number;
  ports: number[];
  show: string;
  /** HS256 secret to mint tokens with; null: anonymous viewers (`viewer` ids). */
  secret: string | null;
  /** Connections in the handshake/hello at once (the rest wait their turn). */
  inFlight: number;
}
export type BurstCommand =
  BurstPlan | { type: "connect" } | { type: "buzz"; act: string; atMs: number; spreadMs: number } | { type: "close" };

export interface ConnectReply {
  type: "connected";
  welcomed: number;
  failed: number;
  closes: Record<string, number>;
  startMs: number;
  lastWelcomeMs: number;
}
export interface BuzzReply {
  type: "buzzed";
  sent: number;
  /** Viewers whose ack for this buzz said counted (their cumulative `counted` grew by exactly one). */
  countedOnce: number;
  /** Viewers whose cumulative `counted` grew by more than one (must be 0). */
  countedTwice: number;
  rejected: Record<string, number>;
  /** Wall-clock ms of each counted ack. */
  ackTimes: number[];
  firstSendMs: number;
  lastAckMs: number;
}

interface Viewer {
  conn: LeanConnection;
  token: string;
  welcomed: boolean;
  seq: number;
  counted: number;
  /** seq of the buzz awaiting its ack (0: none). */
  waiting: number;
  countedBefore: number;
}

const WELCOME = Buffer.from('{"type":"welcome"');
const ACK = Buffer.from('{"type":"ack"');
const ERROR = Buffer.from('{"type":"error"');
let plan: BurstPlan | null = null;
const viewers: Viewer[] = [];
const readBuffer = Buffer.alloc(256 * 1024);
let connect: {
  next: number;
  open: number;
  welcomed: number;
  failed: number;
  closes: Record<string, number>;
  start: number;
  last: number;
} | null = null;
let burst: (BuzzReply & { pending: number; deadline: NodeJS.Timeout | null }) | null = null;

const startsWith = (d: Buffer, s: number, e: number, p: Buffer) => e - s >= p.length && d.compare(p, 0, p.length, s, s + p.length) === 0;

const events: LeanEvents = {
  open(c) {
    const v = viewers[c.id]!;
    const hello = plan!.secret === null ? { viewer: `burst-${c.id}` } : { token: v.token };
    c.send("hello", JSON.stringify({ type: "hello", protocol: 1, show: plan!.show, ...hello }));
  },
  message(c, data, start, end) {
    const v = viewers[c.id]!;
    if (startsWith(data, start, end, ACK)) return onAck(v, JSON.parse(data.toString("utf8", start, end)) as AckFrame);
    if (startsWith(data, start, end, WELCOME) && connect && !v.welcomed) {
      v.welcomed = true;
      connect.welcomed++;
      connect.last = Date.now();
      connect.open--;
      pump();
    } else if (startsWith(data, start, end, ERROR) && connect) {
      const code = (JSON.parse(data.toString("utf8", start, end)) as { code: string }).code;
      connect.closes[code] = (connect.closes[code] ?? 0) + 1;
    }
  },
  closed(c, code) {
    const v = viewers[c.id]!;
    if (connect && !v.welcomed) {
      connect.failed++;
      connect.open--;
      connect.closes[String(code)] = (connect.closes[String(code)] ?? 0) + 1;
      pump();
    }
  },
};

interface AckFrame {
  seq: number;
  counted: number;
  last: string;
}

function onAck(v: Viewer, a: AckFrame): void {
  if (burst === null || v.waiting === 0 || a.seq < v.waiting) return;
  v.waiting = 0;
  const grew = a.counted - v.countedBefore;
  if (grew === 1) {
    burst.countedOnce++;
    burst.ackTimes.push(Date.now());
    burst.lastAckMs = Date.now();
  } else if (grew > 1) burst.countedTwice++;
  else burst.rejected[a.last] = (burst.rejected[a.last] ?? 0) + 1;
  v.counted = a.counted;
  if (--burst.pending === 0) finishBurst();
}

/** Keeps `inFlight` connections in the handshake until every viewer had its turn. */
function pump(): void {
  const c = connect!;
  const p = plan!;
  while (c.open < p.inFlight && c.next < p.to) {
    const i = c.next++;
    c.open++;
    viewers[i]!.conn.connect({ host: "127.0.0.1", port: p.ports[i % p.ports.length]!, path: "/ws" }, { sndbuf: 0, readBuffer });
  }
  if (c.open === 0 && c.next >= p.to) {
    const reply: ConnectReply = {
      type: "connected",
      welcomed: c.welcomed,
      failed: c.failed,
      closes: c.closes,
      startMs: c.start,
      lastWelcomeMs: c.last,
    };
    connect = null;
    process.send!(reply);
  }
}

function startBurst(act: string, atMs: number, spreadMs: number): void {
  const p = plan!;
  const order = viewers.slice(p.from, p.to).filter((v) => v.welcomed);
  const when = order.map(() => atMs + Math.random() * spreadMs);
  const idx = order.map((_, i) => i).sort((a, b) => when[a]! - when[b]!);
  burst = {
    type: "buzzed",
    sent: 0,
    countedOnce: 0,
    countedTwice: 0,
    rejected: {},
    ackTimes: [],
    firstSendMs: 0,
    lastAckMs: 0,
    pending: order.length,
    deadline: null,
  };
  burst.deadline = setTimeout(finishBurst, spreadMs + 30_000);
  let k = 0;
  const tick = (): void => {
    const now = Date.now();
    while (k < idx.length && when[idx[k]!]! <= now) {
      const v = order[idx[k++]!]!;
      v.seq++;
      v.waiting = v.seq;
      v.countedBefore = v.counted;
      if (burst!.sent++ === 0) burst!.firstSendMs = now;
      v.conn.send("buzz", `{"type":"buzz","act":"${act}","seq":${v.seq}}`);
    }
    if (k < idx.length) setTimeout(tick, 2);
  };
  setTimeout(tick, Math.max(0, atMs - Date.now()));
}

function finishBurst(): void {
  if (burst === null) return;
  if (burst.deadline) clearTimeout(burst.deadline);
  const { pending: _p, deadline: _d, ...reply } = burst;
  burst = null;
  process.send!(reply);
}

process.on("message", (m: BurstCommand) => {
  void (async () => {
    switch (m.type) {
      case "plan": {
        plan = m;
        const sign = m.secret === null ? null : createSigner({ key: m.secret, algorithm: "HS256", noTimestamp: true });
        for (let i = m.from; i < m.to; i++) {
          const token = sign === null ? "" : sign({ show: m.show, sub: `burst-${i}`, exp: Math.floor(Date.now() / 1000) + 2 * 3600 });
          viewers[i] = {
            conn: new LeanConnection(i, events, wsDialect),
            token,
            welcomed: false,
            seq: 0,
            counted: 0,
            waiting: 0,
            countedBefore: 0,
          };
        }
        process.send!({ type: "ready" });
        return;
      }
      case "connect":
        connect = { next: plan!.from, open: 0, welcomed: 0, failed: 0, closes: {}, start: Date.now(), last: Date.now() };
        return pump();
      case "buzz":
        return startBurst(m.act, m.atMs, m.spreadMs);
      case "close":
        for (const v of viewers) v?.conn.destroy();
        process.exit(0);
    }
  })();
});
process.on("disconnect", () => process.exit(0));
