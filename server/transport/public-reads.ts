/**
 * Bounds on the public reads that reach the record (GET /api/shows/:show's durable totals and
 * GET /api/shows/:show/timeline), so that an audience, or an abuser, can never make counting or
 * producers wait:
 *  - what the public may ask is a small fixed set: the current epoch only (an earlier epoch is
 *    admin-only: 401), and timeline intervals from TIMELINE_INTERVALS_MS or the persist interval
 *    (anything else: 400), so the per-node answer caches hold every distinct public question and
 *    the record sees at most one query per question per node per second;
 *  - per client address (client-address.ts: behind TRUSTED_PROXIES, the forwarded client), at most
 *    PUBLIC_READ_RATE_PER_IP requests per second (burst 2 s); beyond it 429 `rate_limited` with
 *    Retry-After. Requests with the admin token are not limited;
 *  - the record answers them from a pool of its own (record.ts PublicRecordReads).
 * Every refusal is counted in `buzzcast_public_reads_refused_total{reason}`.
 */
import type { Family } from "../ops/metrics.ts";
import { TokenBucket } from "./admission.ts";
import { ClientAddresses } from "./client-address.ts";
import { HttpError } from "./http-util.ts";

/** Timeline intervals the public may ask for (besides the persist interval). */
export const TIMELINE_INTERVALS_MS: readonly number[] = [1000, 5000, 10_000, 60_000, 300_000, 3_600_000];

export type PublicReadRefusal = "rate_limited" | "interval" | "past_epoch" | "record_unavailable";

const MAX_TRACKED = 100_000;
const PRUNE_EVERY_MS = 5000;

export interface PublicReadOptions {
  /** PUBLIC_READ_RATE_PER_IP; 0 = no per-address limit. */
  ratePerIpPerSec: number;
  trustedProxies: readonly string[];
  /** The default timeline interval (PERSIST_INTERVAL_MS), always allowed. */
  persistIntervalMs: number;
}

export class PublicReadGate {
  readonly refused: Record<PublicReadRefusal, number> = { rate_limited: 0, interval: 0, past_epoch: 0, record_unavailable: 0 };
  private readonly addresses: ClientAddresses;
  private readonly perIp = new Map<string, TokenBucket>();
  private readonly intervals: ReadonlySet<number>;
  private prunedAt = 0;

  constructor(private readonly opts: PublicReadOptions) {
    this.addresses = new ClientAddresses(opts.trustedProxies);
    this.intervals = new Set([...TIMELINE_INTERVALS_MS, opts.persistIntervalMs]);
  }

  /** Whether `address`/`forwardedFor` are needed at all (per-address limit on). */
  get needsPeer(): boolean {
    return this.opts.ratePerIpPerSec > 0;
  }

  /** Throws HttpError 429 `rate_limited` (with Retry-After) when the client's address is over its rate. */
  admit(peer: string, forwardedFor: string, now = Date.now()): void {
    if (this.opts.ratePerIpPerSec <= 0) return;
    const key = this.addresses.keyOf(peer, forwardedFor);
    let b = this.perIp.get(key);
    if (b === undefined) {
      if (now - this.prunedAt >= PRUNE_EVERY_MS || this.perIp.size >= MAX_TRACKED) this.prune(now);
      const rate = this.opts.ratePerIpPerSec;
      b = new TokenBucket(rate, Math.max(1, rate * 2), now);
      this.perIp.set(key, b);
    }
    if (b.take(now)) return;
    this.refused.rate_limited++;
    const retryAfter = String(Math.max(1, Math.ceil(1 / this.opts.ratePerIpPerSec)));
    throw new HttpError(429, "rate_limited", "too many requests from your address; retry after Retry-After seconds", {
      "retry-after": retryAfter,
    });
  }

  /** Throws 401 for an earlier epoch asked without the admin token. */
  checkEpoch(epoch: string, current: string, isAdmin: boolean): void {
    if (epoch === current || isAdmin) return;
    this.refused.past_epoch++;
    throw new HttpError(401, "unauthorized", "an earlier epoch is admin-only: Authorization: Bearer <ADMIN_TOKEN>");
  }

  /** Throws 400 for a timeline interval outside the public set (admins may ask any valid one). */
  checkInterval(intervalMs: number, isAdmin: boolean): void {
    if (isAdmin || this.intervals.has(intervalMs)) return;
    this.refused.interval++;
    const allowed = [...this.intervals].sort((a, b) => a - b).join(", ");
    throw new HttpError(400, "bad_request", `intervalMs: one of ${allowed} (other intervals are admin-only)`);
  }

  /** A public read the record could not answer in time (its pool busy or the record down). */
  recordUnavailable(): void {
    this.refused.record_unavailable++;
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_public_reads_refused_total",
        help: "Public reads of the record refused, by reason (429 rate_limited, 400 interval, 401 past_epoch, 503 or durable omitted record_unavailable).",
        kind: "counter",
        samples: (Object.keys(this.refused) as PublicReadRefusal[]).map((reason) => ({ labels: { reason }, value: this.refused[reason] })),
      },
    ];
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [k, b] of this.perIp) if (b.full(now)) this.perIp.delete(k);
    if (this.perIp.size >= MAX_TRACKED) this.perIp.clear();
  }
}
