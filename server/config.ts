/**
 * The whole configuration: one zod schema over the environment, parsed once at start and frozen.
 * A bad value stops the process with a message naming the variable (exit code 2, see main.ts).
 */
import { isIP } from "node:net";
import { availableParallelism, hostname } from "node:os";
import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"])
  .transform((v) => v === "1" || v === "true" || v === "yes" || v === "on");

/** A key or secret: at least 32 bytes of UTF-8 (256 bits if random; HS256 and HMAC-SHA256 keys). */
const secret = z
  .string()
  .trim()
  .refine((v) => Buffer.byteLength(v, "utf8") >= 32, "must be at least 32 bytes");
/** One or more secrets, comma-separated (rotation: the first signs, every one verifies). */
const secretList = z
  .string()
  .transform((v) => v.split(",").map((s) => s.trim()))
  .refine((l) => l.every((s) => Buffer.byteLength(s, "utf8") >= 32), "every comma-separated secret must be at least 32 bytes");

const Env = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** uWS Apps (worker threads) on the port; 1 = no threads. Default: one per core. */
  WORKERS: int(1, 256).default(availableParallelism()),
  TICK_MS: int(10, 10_000).default(100),
  /**
   * Phase 2 (read totals, publish)'s deadline after each aligned tick instant: it starts as soon as
   * every unit's flush of the tick landed, at this offset at the latest. Unset: chosen by what must
   * land before the read (node/node.ts publishOffsetMs): 0 in one process, TICK_MS / 10 with worker
   * threads, TICK_MS / 5 over memcached.
   */
  PUBLISH_OFFSET_MS: int(0, 9_999).optional(),
  /** Share of the thread the tick's own work may always take, however busy the thread (overload, tick-rate.ts). */
  TICK_BUDGET_PCT: int(1, 100).default(50),
  /** How busy publishing may keep the thread when nothing else wants it (tick-rate.ts). */
  TICK_IDLE_PCT: int(1, 100).default(95),
  ADMIN_TOKEN: z.string().min(8, "must be at least 8 characters").max(256).optional(),
  BUZZ_POLICY: z.enum(["once", "unlimited"]).default("once"),
  /** Buzzes per second per connection; 0 turns the limiter off (benchmarks). */
  RATE_LIMIT_PER_SEC: int(0, 1_000_000).default(10),
  RATE_LIMIT_BURST: int(1, 1_000_000).default(20),
  /** A connection whose rate-limit debt exceeds this many buzzes is closed as flooding. */
  FLOOD_CLOSE_AFTER: int(1, 10_000_000).default(1000),
  MAX_CONNECTIONS: int(1, 10_000_000).default(1_000_000),
  /** Bytes buffered for one slow client before frames to it are dropped (uWS maxBackpressure). */
  MAX_BACKPRESSURE: int(1024, 64 * 1024 * 1024).default(64 * 1024),
  /** A client over MAX_BACKPRESSURE at this many consecutive sweeps is closed as a slow consumer. */
  SLOW_CONSUMER_SWEEPS: int(1, 1000).default(3),
  SWEEP_MS: int(50, 60_000).default(1000),
  /**
   * Bytes a connection may leave unread (its ping unanswered for half a second or more) before frames to it
   * stop until it catches up (transport/reader-flow.ts); 0 turns reader flow control off.
   */
  READER_UNACKED_BYTES: int(0, 64 * 1024 * 1024).default(64 * 1024),
  /** A connection parked for leaving too much unread this long is closed as slow_consumer (4009). */
  READER_PARKED_CLOSE_MS: int(1000, 3_600_000).default(10_000),
  IDLE_TIMEOUT_SEC: int(8, 960).default(120),
  HELLO_TIMEOUT_MS: int(100, 600_000).default(10_000),
  DRAIN_TIMEOUT_MS: int(100, 120_000).default(5_000),
  /** A drain closes its connections in batches over this long (0 = all at once); see drainSpreadMs. */
  DRAIN_SPREAD_MS: int(0, 60_000).default(2_000),
  /** New connections per second this node admits (token bucket, burst = 2 s); 0 = no limit. */
  MAX_CONNECT_RATE: int(0, 10_000_000).default(1000 * availableParallelism()),
  /** New connections per second from one client address (burst = 2 s); 0 = no limit (the default: see docs/operations.md). */
  MAX_CONNECT_RATE_PER_IP: int(0, 1_000_000).default(0),
  /** Public reads of the record (show state, timeline) per second from one client address (burst 2 s); 0 = no limit. */
  PUBLIC_READ_RATE_PER_IP: int(0, 1_000_000).default(0),
  /** TCP port of the HAProxy agent check (the node's weight: lowered while it sheds); unset = none. */
  AGENT_PORT: int(1, 65535).optional(),
  /** Proxies whose X-Forwarded-For names the client (comma-separated addresses or CIDRs); unset: the peer is the client. */
  TRUSTED_PROXIES: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    )
    .refine((l) => l.every(isAddressOrCidr), "comma-separated IPv4/IPv6 addresses or CIDRs (10.0.0.0/8, ::1)")
    .optional(),
  /** Origins allowed to open a WebSocket (comma-separated, e.g. https://tv.example); unset: any. No Origin header is always allowed. */
  ALLOWED_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim().toLowerCase().replace(/\/+$/, ""))
        .filter((s) => s !== ""),
    )
    .refine((l) => l.every((o) => o === "*" || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/.test(o)), "comma-separated origins: scheme://host[:port]")
    .optional(),
  /** Stable id of this node: names its rows in the record. Must differ between nodes. */
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 of A-Z a-z 0-9 _ . -")
    .default(
      hostname()
        .slice(0, 64)
        .replace(/[^A-Za-z0-9_.-]/g, "-") || "node",
    ),
  MEMCACHED_SERVERS: z.string().min(1).optional(),
  MYSQL_URL: z
    .string()
    .regex(/^mysql:\/\//, "must start with mysql://")
    .optional(),
  /** Local L1 TTL of the dual cache. */
  L1_TTL_MS: int(0, 60_000).default(1000),
  /** How often each node writes its deltas to the record. */
  PERSIST_INTERVAL_MS: int(50, 600_000).default(1000),
  /** Local state (the write-ahead journal, with MYSQL_URL): must survive a restart of the node. */
  DATA_DIR: z.string().min(1).default("data"),
  /** fdatasync the journal before each tick's acks (off: a process kill keeps acked buzzes, a host crash may not). */
  JOURNAL_FSYNC: bool.default(true),
  /** Create the demo show when no show exists. */
  DEMO_SHOW: bool.default(true),
  STATIC_DIR: z.string().min(1).default("client/dist"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** When set, hello must carry a viewer token signed HS256 with one of these (docs/viewer-tokens.md). */
  VIEWER_TOKEN_SECRET: secretList.optional(),
  /** The HMAC export seal is gone: setting this refuses to start, naming its replacement. */
  EXPORT_SIGNING_KEY: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined,
      "the HMAC export seal was replaced by Ed25519 signatures: remove EXPORT_SIGNING_KEY and set EXPORT_SIGNING_KEY_FILE to an Ed25519 private key (openssl genpkey -algorithm ed25519 -out export-key.pem)",
    ),
  /** Path of the Ed25519 private key (PKCS#8 PEM) signing audit exports; unset: exports carry a digest only. */
  EXPORT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** Key of the keyed hash that pseudonymises viewer ids in exports; default: a random key kept in the record. */
  EXPORT_PSEUDONYM_KEY: secret.optional(),
});

export type Config = Readonly<z.infer<typeof Env>>;

/**
 * The drain spread actually used: DRAIN_SPREAD_MS, but at most half of DRAIN_TIMEOUT_MS, so the
 * final flush and persist always fit before the hard-exit timer.
 */
export function drainSpreadMs(cfg: Pick<Config, "DRAIN_SPREAD_MS" | "DRAIN_TIMEOUT_MS">): number {
  return Math.min(cfg.DRAIN_SPREAD_MS, Math.floor(cfg.DRAIN_TIMEOUT_MS / 2));
}

function isAddressOrCidr(v: string): boolean {
  const [addr, bits, extra] = v.split("/");
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

/** Never echoed in an error message. */
const SECRET_VARS: ReadonlySet<string> = new Set(["ADMIN_TOKEN", "VIEWER_TOKEN_SECRET", "EXPORT_SIGNING_KEY", "EXPORT_PSEUDONYM_KEY"]);

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parse the environment; throws ConfigError listing every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(Env.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") picked[key] = v;
  }
  const r = Env.safeParse(picked);
  if (!r.success) {
    const shown = (key: string) => (SECRET_VARS.has(key) ? "(redacted)" : JSON.stringify(picked[key] ?? ""));
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")}=${shown(String(i.path[0]))}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const offset = r.data.PUBLISH_OFFSET_MS;
  if (offset !== undefined && offset >= r.data.TICK_MS) {
    throw new ConfigError(`invalid configuration:\n  PUBLISH_OFFSET_MS=${offset}: must be less than TICK_MS (${r.data.TICK_MS})`);
  }
  return Object.freeze(r.data);
}
