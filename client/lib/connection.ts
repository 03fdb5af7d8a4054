/**
 * The BuzzClient's connection lifecycle: attempts (token, socket, connect timeout), the stale
 * timer, and reconnects by the close-code table (shared/codes.ts). Frames, buzzes and state live
 * in buzz-client.ts; this file tells it what happened through a ConnectionHost.
 *
 * Guarantees:
 *  - Never reconnects after a "never" close; at once (with jitter) after a drain of a connection
 *    that got its welcome (with backoff otherwise, so no tight loop against a draining server);
 *    with exponential backoff and jitter otherwise.
 *  - Only the current attempt's events count: a token or socket event of an abandoned attempt (or
 *    one from before close()) is dropped.
 *  - One `reconnecting` state per lost connection or failed attempt; the attempt it schedules emits
 *    nothing more. The retry timer is armed before the event, so a listener's close() cancels it.
 *  - With `getToken`, every attempt first fetches a token; a close `unauthorized` (4012) is retried
 *    with backoff only when getToken is given (the retry fetches a fresh one).
 */
import { CLOSE_ABNORMAL, closeName, reconnectRule, type CloseName, type ReconnectRule } from "../../shared/codes.ts";
import { reconnectDelay, type ReconnectOptions } from "./backoff.ts";
import type { BuzzClientOptions, StateChange } from "./client-types.ts";
import { BuzzClientError } from "./errors.ts";
import { fetchToken } from "./negotiate.ts";
import { openSocket, protocolUnavailable } from "./socket-attempt.ts";
import type { WebSocketLike } from "./socket.ts";
import type { ProtocolName, Wire } from "./wire.ts";

/** The close (and error frame) name of a server drain: reported as a state, not an error. */
export const DRAINING = "draining" satisfies CloseName;

/** BuzzClientOptions with every default applied. */
export type ResolvedOptions = Required<Omit<BuzzClientOptions, "viewer" | "reconnect" | "getToken">> & {
  viewer: string | undefined;
  getToken: BuzzClientOptions["getToken"];
};

/** What the connection tells the client. */
export interface ConnectionHost {
  setState(change: StateChange): void;
  error(err: BuzzClientError): void;
  /** A frame from the current socket. */
  data(data: unknown): void;
  /** The connection is gone: its buzzes in flight are resent later only if `willReconnect`. */
  lost(willReconnect: boolean): void;
  /** Held buzzes will never be sent (closed for good, or queueing is off). */
  failHeld(): void;
}

export class Connection {
  sock: WebSocketLike | null = null;
  /** The current connection's wire, set when its socket opens (null before). */
  wire: Wire | null = null;
  lastProtocol: ProtocolName | null = null;
  /** What the current socket's error frame asked for: come back after this long (a paced drain). */
  retryAfterMs: number | undefined;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #staleTimer: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  /** Whether the current socket got its welcome (a drain before that is retried with backoff). */
  #wasLive = false;
  /** Bumped by every attempt and by close(): a token arriving for an older attempt is dropped. */
  #attemptId = 0;
  /** The next attempt offers no subprotocol ("auto" after a WebSocket refused a v1 answer). */
  #fallbackNext = false;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly backoff: ReconnectOptions | false,
    private readonly host: ConnectionHost,
  ) {}

  /** Starts a first attempt. */
  connect(): void {
    this.#attempt = 0;
    this.#open("connecting");
  }

  /** Stops for good: no retry, no late event; the socket closes and its buzzes in flight are lost. */
  shutdown(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#attemptId++;
    const sock = this.sock;
    if (sock !== null) {
      this.#detach();
      sock.close(1000, "client closed");
      this.host.lost(false);
    }
  }

  /** The welcome arrived: the attempt succeeded (no connect timeout, backoff starts over). */
  welcomed(): void {
    clearTimeout(this.#connectTimer);
    this.#attempt = 0;
    this.#wasLive = true;
  }

  /** Drops the connection when no frame arrives for `staleAfterMs` (0: never). */
  watchStale(): void {
    this.#lastFrameAt = Date.now();
    const stale = this.opts.staleAfterMs;
    clearInterval(this.#staleTimer);
    if (stale > 0) {
      this.#staleTimer = setInterval(
        () => {
          if (Date.now() - this.#lastFrameAt > stale) this.#drop("stale_connection", `no frame for ${stale} ms`);
        },
        Math.max(50, Math.floor(stale / 4)),
      );
    }
  }

  /**
   * One attempt. The first connect announces "connecting"; a reconnect attempt announces nothing:
   * the `reconnecting` event that scheduled it (with its code, reason and delay) already did, so
   * each lost connection or failed attempt is one `reconnecting` event.
   */
  #open(state: "connecting" | "reconnecting"): void {
    if (state === "connecting") this.host.setState({ state, attempt: this.#attempt });
    const id = ++this.#attemptId;
    this.#connectTimer = setTimeout(() => this.#connectTimedOut(id), this.opts.connectTimeoutMs);
    const getToken = this.opts.getToken;
    if (getToken === undefined) return this.#openSocket(undefined);
    fetchToken(getToken).then(
      (token) => {
        if (id === this.#attemptId) this.#openSocket(token);
      },
      (err: unknown) => {
        if (id !== this.#attemptId) return;
        clearTimeout(this.#connectTimer);
        this.host.error(new BuzzClientError("token_unavailable", "getToken() failed", { cause: err }));
        this.#closed(CLOSE_ABNORMAL, "token unavailable", "backoff");
      },
    );
  }

  #connectTimedOut(id: number): void {
    if (id !== this.#attemptId) return;
    const message = `no welcome within ${this.opts.connectTimeoutMs} ms`;
    if (this.sock !== null) return this.#drop("connect_timeout", message);
    this.#attemptId++; // still waiting for getToken(): its answer is dropped
    this.host.error(new BuzzClientError("connect_timeout", `${message} (getToken() did not answer)`));
    this.#closed(CLOSE_ABNORMAL, "connect_timeout", "backoff");
  }

  #openSocket(token: string | undefined): void {
    const fallback = this.#fallbackNext;
    this.#fallbackNext = false;
    const o = this.opts;
    let sock: WebSocketLike;
    try {
      sock = openSocket({ ...o, fallback }, (s) => s === this.sock, {
        open: (wire) => {
          if (wire === null) return this.#v2Unavailable(sock);
          this.wire = wire;
          this.lastProtocol = wire.protocol;
          sock.send(wire.hello({ show: o.show, viewer: o.viewer, token }));
        },
        data: (data) => {
          this.#lastFrameAt = Date.now();
          this.host.data(data);
        },
        error: (err) => this.host.error(err),
        close: (code, reason, refusedOffer) => {
          this.#detach();
          if (refusedOffer && o.protocol === "auto") return this.#retryWithoutOffer(code);
          this.#closed(code, reason, undefined);
        },
      });
    } catch (err) {
      clearTimeout(this.#connectTimer);
      this.host.error(new BuzzClientError("socket_error", `cannot open ${o.url}`, { cause: err }));
      return this.#closed(CLOSE_ABNORMAL, "socket constructor threw", "never"); // a bad URL: retrying cannot help
    }
    this.sock = sock;
    this.#wasLive = false;
    this.wire = null;
  }

  /** protocol "v2" and the server answered without it: not this server, maybe another (backoff). */
  #v2Unavailable(sock: WebSocketLike): void {
    this.host.error(protocolUnavailable());
    this.#detach();
    sock.close(1000, "protocol_unavailable");
    this.#closed(CLOSE_ABNORMAL, "protocol_unavailable", "backoff");
  }

  /** "auto" on a WebSocket that refused the server's v1 answer: at once again, offering nothing. */
  #retryWithoutOffer(code: number): void {
    this.#fallbackNext = true;
    // Armed before the event: a listener that calls close() must be able to cancel it.
    this.#retryTimer = setTimeout(() => this.#open("reconnecting"), 0);
    this.host.setState({ state: "reconnecting", code, reason: "server speaks v1 only", retryInMs: 0, attempt: this.#attempt });
  }

  /** Abandons the current socket (timeout, stale) and reconnects with backoff. */
  #drop(code: "connect_timeout" | "stale_connection", message: string): void {
    const sock = this.sock;
    if (sock === null) return;
    this.host.error(new BuzzClientError(code, message));
    this.#detach();
    sock.close(1000, code);
    this.#closed(1006, code, "backoff");
  }

  /** Stops listening to the current socket (its late events are ignored) and clears its timers. */
  #detach(): void {
    this.sock = null;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#staleTimer);
  }

  #closed(code: number, closeReason: string, forced: ReconnectRule | undefined): void {
    const reason = closeName(code) === DRAINING ? DRAINING : closeReason;
    let rule = this.backoff === false ? "never" : (forced ?? this.#ruleFor(code));
    if (rule === "immediate" && !this.#wasLive) rule = "backoff"; // no tight loop against a server that keeps draining
    const retryAfterMs = this.retryAfterMs;
    this.retryAfterMs = undefined;
    const delay = this.backoff === false ? null : reconnectDelay(rule, this.#attempt, this.backoff, this.opts.random, retryAfterMs);
    this.host.lost(delay !== null);
    if (delay === null) {
      this.host.failHeld();
      return this.host.setState({ state: "closed", code, reason });
    }
    if (!this.opts.queueWhileDisconnected) this.host.failHeld();
    if (rule === "backoff") this.#attempt++;
    // Armed before the event: a listener that calls close() must be able to cancel it.
    this.#retryTimer = setTimeout(() => this.#open("reconnecting"), delay);
    this.host.setState({ state: "reconnecting", code, reason, retryInMs: delay, attempt: this.#attempt });
  }

  /** The close table's rule; "fresh_token" (4012 unauthorized): back off and fetch a new token, if getToken can. */
  #ruleFor(code: number): ReconnectRule {
    const rule = reconnectRule(code);
    if (rule === "fresh_token") return this.opts.getToken !== undefined ? "backoff" : "never";
    return rule;
  }
}
