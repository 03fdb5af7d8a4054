/**
 * Admission control at the HTTP upgrade of the WebSocket endpoint, decided before any WebSocket
 * is set up (no socket state, no Conn, no hello): an upgrade is refused with a status from
 * shared/codes.ts's UPGRADE_REFUSED and counted in `buzzcast_upgrades_refused_total{reason}`.
 *
 * Checks, in this order (a refused upgrade takes no token from a later check):
 *  1. `origin_forbidden` (403): ALLOWED_ORIGINS is set and the `Origin` header is present and not
 *     in it. No Origin header = not a browser (native apps, servers): allowed.
 *  2. `server_full` (503): this App already holds `maxOpen` WebSockets, its share of what the
 *     process's descriptor limit leaves room for (descriptor-limit.ts). Refused here, the
 *     TCP connection is closed at once; `accept` never meets a full descriptor table (EMFILE).
 *  3. `connect_rate_ip` (503): the client address took more than MAX_CONNECT_RATE_PER_IP tokens
 *     (burst 2 s). IPv6 addresses are keyed by their /64 (one subscriber's prefix).
 *  4. `connect_rate` (503): the node took more than its share of MAX_CONNECT_RATE (burst 2 s: a
 *     spike is absorbed, a sustained storm is held to the rate).
 * A 503 carries `Retry-After` (whole seconds, jittered over the time the refused clients need to be
 * admitted at the configured rate, so they do not return as one wave).
 *
 * The client address is client-address.ts's: the TCP peer, or behind TRUSTED_PROXIES the right-most
 * untrusted address across every X-Forwarded-For line.
 *
 * Memory: one small entry per client address seen in the last few seconds; full buckets are pruned,
 * and past MAX_TRACKED addresses the table is cleared (counted), never grown without bound.
 */
import { ClientAddresses } from "./client-address.ts";
import { UPGRADE_REFUSED, type UpgradeRefusal } from "../../shared/codes.ts";
import type { Family } from "../ops/metrics.ts";

export interface AdmissionOptions {
  /** This App's share of MAX_CONNECT_RATE (per second); 0 = no limit. */
  ratePerSec: number;
  /** MAX_CONNECT_RATE_PER_IP (this App's share); 0 = no limit. */
  ratePerIpPerSec: number;
  trustedProxies: readonly string[];
  /** Lower-case origins; undefined or containing "*": any origin. */
  allowedOrigins: readonly string[] | undefined;
  /** WebSockets this App may hold (descriptor-limit.ts's per-worker share); Infinity = no cap. */
  maxOpen?: number;
  random?: () => number;
}

export interface Refusal {
  reason: UpgradeRefusal;
  status: number;
  /** Seconds for Retry-After (503 only). */
  retryAfterSec: number | null;
}

/** A refusal of the node bucket keeps /readyz not ready this long (HAProxy sends new viewers elsewhere). */
export const SHED_HOLD_MS = 2000;
const MAX_TRACKED = 100_000;
const PRUNE_EVERY_MS = 5000;
const MAX_RETRY_AFTER_SEC = 30;
/** A full node frees room only as viewers leave: refused clients spread their return over this window. */
const FULL_RETRY_WINDOW_SEC = 30;

/** Token bucket over a wall clock: `take` spends one token if there is one. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  giveBack(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
  /** Whether the bucket is full (nothing to remember about this key). */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
  private refill(now: number): void {
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
  }
}

export class Admission {
  readonly refused: Record<UpgradeRefusal, number> = { connect_rate: 0, connect_rate_ip: 0, origin_forbidden: 0, server_full: 0 };
  trackedCleared = 0;
  /** Whether `check` reads the peer address (per-address limits on). */
  readonly needsPeer: boolean;
  private readonly node: TokenBucket | null;
  private readonly perIp = new Map<string, TokenBucket>();
  private readonly addresses: ClientAddresses;
  private readonly anyOrigin: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly random: () => number;
  /** WebSockets this App may hold (Infinity: no descriptor limit known). */
  readonly maxOpen: number;
  private lastShedAt = -Infinity;
  private prunedAt = 0;
  /** Node-bucket refusals in the current second (sizes the Retry-After window). */
  private windowStart = 0;
  private windowRefused = 0;

  constructor(
    private readonly opts: AdmissionOptions,
    now = Date.now(),
  ) {
    this.node = opts.ratePerSec > 0 ? new TokenBucket(opts.ratePerSec, Math.max(1, opts.ratePerSec * 2), now) : null;
    this.addresses = new ClientAddresses(opts.trustedProxies);
    this.anyOrigin = opts.allowedOrigins === undefined || opts.allowedOrigins.includes("*");
    this.origins = new Set(opts.allowedOrigins ?? []);
    this.random = opts.random ?? Math.random;
    this.needsPeer = opts.ratePerIpPerSec > 0;
    this.maxOpen = opts.maxOpen ?? Infinity;
  }

  /**
   * null: admit. `peer` is the TCP peer's address as uWS prints it; `forwardedFor` every
   * X-Forwarded-For line, joined with ","; `open` the WebSockets this App holds now.
   */
  check(origin: string, peer: string, forwardedFor: string, now: number, open = 0): Refusal | null {
    if (origin !== "" && !this.anyOrigin && !this.origins.has(origin.toLowerCase())) return this.refuse("origin_forbidden", null);
    if (open >= this.maxOpen) return this.refuse("server_full", this.retryAfter(FULL_RETRY_WINDOW_SEC));
    let ipBucket: TokenBucket | null = null;
    if (this.opts.ratePerIpPerSec > 0) {
      ipBucket = this.bucketOf(this.addresses.keyOf(peer, forwardedFor), now);
      if (!ipBucket.take(now)) return this.refuse("connect_rate_ip", this.retryAfter(1 / this.opts.ratePerIpPerSec));
    }
    if (this.node !== null && !this.node.take(now)) {
      ipBucket?.giveBack();
      this.lastShedAt = now;
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.windowRefused = 0;
      }
      this.windowRefused++;
      return this.refuse("connect_rate", this.retryAfter(this.windowRefused / this.opts.ratePerSec));
    }
    return null;
  }

  /** True while the node bucket refused an upgrade in the last SHED_HOLD_MS. */
  shedding(now: number): boolean {
    return now - this.lastShedAt < SHED_HOLD_MS;
  }

  /** The client address an upgrade is keyed by (client-address.ts). */
  clientAddress(peer: string, forwardedFor: string): string {
    return this.addresses.of(peer, forwardedFor);
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_upgrades_refused_total",
        help: "WebSocket upgrades refused by admission control, by reason (503 connect_rate*, 503 server_full, 403 origin_forbidden).",
        kind: "counter",
        samples: (Object.keys(this.refused) as UpgradeRefusal[]).map((reason) => ({ labels: { reason }, value: this.refused[reason] })),
      },
      {
        name: "buzzcast_admission_shedding",
        help: "1 while the node refuses upgrades over MAX_CONNECT_RATE (and /readyz says so).",
        kind: "gauge",
        merge: "max",
        samples: [{ value: this.shedding(Date.now()) ? 1 : 0 }],
      },
      {
        name: "buzzcast_connection_capacity",
        help: "WebSockets the node admits before refusing upgrades with server_full (its descriptor limit less a margin); no sample: no limit known.",
        kind: "gauge",
        samples: Number.isFinite(this.maxOpen) ? [{ value: this.maxOpen }] : [],
      },
      {
        name: "buzzcast_admission_addresses_cleared_total",
        help: "Times the per-address table reached its size limit and was cleared.",
        kind: "counter",
        samples: [{ value: this.trackedCleared }],
      },
    ];
  }

  private bucketOf(key: string, now: number): TokenBucket {
    let b = this.perIp.get(key);
    if (b !== undefined) return b;
    if (now - this.prunedAt >= PRUNE_EVERY_MS || this.perIp.size >= MAX_TRACKED) this.prune(now);
    const rate = this.opts.ratePerIpPerSec;
    b = new TokenBucket(rate, Math.max(1, rate * 2), now);
    this.perIp.set(key, b);
    return b;
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [k, b] of this.perIp) if (b.full(now)) this.perIp.delete(k);
    if (this.perIp.size >= MAX_TRACKED) {
      this.perIp.clear();
      this.trackedCleared++;
    }
  }

  private retryAfter(windowSec: number): number {
    const span = Math.min(MAX_RETRY_AFTER_SEC, Math.max(1, Math.ceil(windowSec)));
    return 1 + Math.floor(this.random() * span);
  }

  private refuse(reason: UpgradeRefusal, retryAfterSec: number | null): Refusal {
    this.refused[reason]++;
    return { reason, status: UPGRADE_REFUSED[reason].status, retryAfterSec };
  }
}

export { normalizeAddress } from "./client-address.ts";
