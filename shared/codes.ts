/**
 * Every code and constant that crosses the wire, zod-free, so a browser bundle can import this file
 * without pulling in the schemas of shared/protocol.ts (which re-exports the constants below).
 * A client decides what to do from these tables alone: `reconnect` says whether (and how) it may
 * come back after a close.
 *   - "immediate": the server is draining or restarting; reconnect now, with a little jitter, or
 *                  after the `retryAfterMs` its error frame carried (a paced drain).
 *   - "backoff":   transient trouble; reconnect with exponential backoff and jitter.
 *   - "never":     the client broke the protocol or asked for something that does not exist;
 *                  reconnecting would only repeat the failure.
 *   - "fresh_token": the viewer token was refused; reconnect (with backoff) only with a new token
 *                  from the broadcaster's backend, never by resending the same one.
 */

/** The protocol version a `hello` must name (`protocol`) and `welcome` echoes. */
export const PROTOCOL_VERSION = 1 as const;

/** Path of the WebSocket endpoint. */
export const WS_PATH = "/ws";

/** Largest text frame the server accepts (bytes). Larger frames get `too_large`. */
export const MAX_FRAME_BYTES = 1024;

export const CLOSE = {
  /** Server shutting down or restarting (SIGTERM drain). */
  draining: { code: 1001, reconnect: "immediate" },
  /** Unexpected server fault. */
  server_error: { code: 1011, reconnect: "backoff" },
  /** Frame was not JSON, or did not match the protocol schema. */
  bad_frame: { code: 4000, reconnect: "never" },
  /** First frame was not `hello`, or `hello` was sent twice. */
  hello_required: { code: 4001, reconnect: "never" },
  /** The `hello` named a show this server does not know. */
  unknown_show: { code: 4002, reconnect: "never" },
  /** The `hello` asked for a protocol version this server does not speak. */
  unsupported_protocol: { code: 4003, reconnect: "never" },
  /** Frame larger than the protocol's limit (MAX_FRAME_BYTES). Past 16 KB uWebSockets.js drops the
   *  connection itself, without a close frame (the client sees 1006). */
  too_large: { code: 4004, reconnect: "never" },
  /** Binary frames are not part of protocol v1. */
  binary_unsupported: { code: 4005, reconnect: "never" },
  /** The client kept sending far above the rate limit. */
  flooding: { code: 4008, reconnect: "backoff" },
  /** The client did not read its frames; its send buffer stayed over the backpressure limit. */
  slow_consumer: { code: 4009, reconnect: "backoff" },
  /** The server is at its connection limit. */
  server_full: { code: 4010, reconnect: "backoff" },
  /** No `hello` within the allowed time after connecting. */
  hello_timeout: { code: 4011, reconnect: "backoff" },
  /** The server requires a viewer token and the hello's was missing, malformed, badly signed,
   *  expired, not yet valid, or for another show. */
  unauthorized: { code: 4012, reconnect: "fresh_token" },
  /** The viewer id (hello `viewer`, or the token's `sub`) is not well-formed Unicode, holds a control
   *  character, or starts or ends with white space (shared/viewer-id.ts). Never counted. */
  bad_viewer: { code: 4013, reconnect: "never" },
} as const;

export type CloseName = keyof typeof CLOSE;
export type ReconnectRule = (typeof CLOSE)[CloseName]["reconnect"];

/** Close code 1009 (message too big), as other WebSocket servers and proxies may send it. */
export const CLOSE_MESSAGE_TOO_BIG = 1009;
/** Close code 1006 is what a client observes when the connection dropped without a close frame. */
export const CLOSE_ABNORMAL = 1006;

const byCode = new Map<number, CloseName>((Object.keys(CLOSE) as CloseName[]).map((name) => [CLOSE[name].code, name]));

/** The close-table entry for a numeric close code, if it is one of ours. */
export function closeName(code: number): CloseName | undefined {
  return byCode.get(code);
}

/**
 * What a client should do after the connection closed with `code`.
 * Codes that are not ours (1000, 1005, 1006, 1009 ...) are treated as transient: back off and retry,
 * except 1009 (the client sent a frame the server refuses: retrying would repeat it).
 */
export function reconnectRule(code: number): ReconnectRule {
  const name = byCode.get(code);
  if (name !== undefined) return CLOSE[name].reconnect;
  if (code === CLOSE_MESSAGE_TOO_BIG) return "never";
  return "backoff";
}

/**
 * Why a buzz did not count. Reported in `ack.rejected`; never a reason to close.
 */
export const REJECT = {
  /** Voting for that act is not open (not on stage, or the producer closed it). */
  voting_closed: "voting for this act is not open",
  /** `once` policy: this viewer (or connection) already buzzed this act while its voting was open. */
  duplicate: "already buzzed this act",
  /** Over the per-connection buzz rate limit. */
  rate_limited: "too many buzzes; slow down",
  /** The act is not part of this show. */
  unknown_act: "no such act in this show",
  /** `seq` did not increase on this connection (replayed or reordered frame). */
  out_of_order: "seq must increase on each buzz",
} as const;

export type RejectReason = keyof typeof REJECT;
export const REJECT_REASONS = Object.keys(REJECT) as RejectReason[];

/**
 * How a receiver reports a refusal whose reason it does not know: "not counted, for a reason this
 * client cannot name". Servers add reasons over time (only at the end of the v2 order); an older
 * client must neither fail on them nor lose count, so every reason it does not know is counted
 * together under this one name (ack-reasons.ts). It is never sent on the wire.
 */
export const REJECTED_OTHER = "rejected_other";
/** The outcome of one buzz as a receiver reports it from `ack.last`. */
export type AckLast = "counted" | RejectReason | typeof REJECTED_OTHER;

/**
 * Why an HTTP upgrade to the WebSocket endpoint was refused before any WebSocket was set up
 * (admission control, server/transport/admission.ts). The answer is `status` with a JSON body
 * `{"error":{"code":<name>,"message"}}`; 503s carry `Retry-After` (seconds). Counted in
 * `buzzcast_upgrades_refused_total{reason}`. A browser's WebSocket API does not expose the status:
 * it sees a failed connection (1006) and backs off ("backoff" rule).
 */
export const UPGRADE_REFUSED = {
  /** The node accepts at most MAX_CONNECT_RATE new connections per second. */
  connect_rate: { status: 503 },
  /** One client address opened more than MAX_CONNECT_RATE_PER_IP connections per second. */
  connect_rate_ip: { status: 503 },
  /** The `Origin` of the upgrade is not in ALLOWED_ORIGINS (cross-site WebSocket hijacking). */
  origin_forbidden: { status: 403 },
  /** The node holds as many connections as its descriptor limit (RLIMIT_NOFILE) leaves room for. */
  server_full: { status: 503 },
} as const;
export type UpgradeRefusal = keyof typeof UPGRADE_REFUSED;

/**
 * The one reconnect rule (docs/protocol.md quotes it; client/lib/backoff.ts applies it):
 *  - after a "backoff" close, attempt n (0 = first retry after a live connection was lost) waits
 *    uniformly in [0, min(maxMs, baseMs * 2^n)) ("full jitter": a reconnect storm spreads over
 *    the whole window instead of arriving in waves);
 *  - after an "immediate" close (a drain) it waits uniformly in [0, immediateJitterMs);
 *  - whatever the rule (except "never"), an error frame that carried `retryAfterMs` replaces the
 *    jitter: the client waits exactly that long (capped at maxMs). A draining server spreads its
 *    clients' returns over a window sized to their number, so they do not all come back at once;
 *  - after a "fresh_token" close it backs off like "backoff", and the client fetches a new token
 *    before that attempt (a client that cannot get one must not reconnect).
 */
export const RECONNECT_BACKOFF = {
  baseMs: 500,
  maxMs: 30_000,
  jitter: "full",
  immediateJitterMs: 1_000,
} as const;

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  immediateJitterMs: number;
}

/**
 * Delay (whole ms) before reconnect attempt `attempt` after a close with rule `rule`, or null when
 * the rule forbids reconnecting. Pure: `random` returns a number in [0, 1). `retryAfterMs`: what
 * the error frame before the close asked for (absent: the jitter of the rule).
 */
export function reconnectDelayMs(
  rule: ReconnectRule,
  attempt: number,
  random: () => number,
  policy: BackoffPolicy = RECONNECT_BACKOFF,
  retryAfterMs?: number,
): number | null {
  if (rule === "never") return null;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0)
    return Math.min(Math.floor(retryAfterMs), policy.maxMs);
  // "fresh_token" waits like "backoff": a whole audience whose tokens expired together must not
  // hit the token backend and this server in the same millisecond.
  const window = rule === "immediate" ? policy.immediateJitterMs : backoffCeilingMs(attempt, policy);
  return Math.floor(random() * window);
}

/** The upper end of the full-jitter window for attempt `attempt`: min(maxMs, baseMs * 2^attempt). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy = RECONNECT_BACKOFF): number {
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 30); // 2^30 * baseMs is past any sane maxMs
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
}
