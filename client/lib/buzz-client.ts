/**
 * BuzzClient: one viewer's (or console's) connection to a show, for browsers, React Native and Node.
 *
 * Guarantees:
 *  - Reconnects by the close-code table (shared/codes.ts): never after a "never" close, at once (with
 *    jitter) after a drain, with exponential backoff and jitter otherwise. Each (re)connection sends
 *    `hello` and takes the server's snapshot before anything else is applied.
 *  - `totals` events never go backwards within an epoch (TotalsView); a new epoch replaces them.
 *  - Every `buzz()` promise settles exactly once, with the server's outcome, or "not_sent" (it never
 *    left this device: queue disabled/full/timed out, or the client was closed), or "unconfirmed" (it
 *    was sent, the connection dropped before the ack, and resending could double count it).
 *    Buzzes in flight at a disconnect are resent only when the server deduplicates them: policy
 *    "once", a viewer id, and the new connection's epoch is the one the buzz was sent in, so a
 *    resend of a buzz that already counted comes back "duplicate". The server's dedup memory is per
 *    server process: a reconnect that lands on another node or worker may count a resend again
 *    (the known limit in docs/architecture.md; docs/protocol.md states the rule).
 *  - The same events and guarantees in protocol v1 and v2 (`protocol` option, negotiate.ts): a wire
 *    per connection (wire.ts, wire-v2.ts) turns frames into v1-shaped messages; everything above it
 *    is protocol-blind.
 *  - With `getToken`, every connection attempt first fetches a token and sends it in `hello`. A close
 *    `unauthorized` (4012) is retried with backoff only when getToken is given (the retry fetches a
 *    fresh one); without it the client stops.
 *  - State events: one `reconnecting` per lost connection or failed attempt (the attempt it
 *    schedules emits nothing more); a server drain is that state with reason "draining", never an
 *    `error` event.
 */
import { CLOSE_ABNORMAL, closeName, reconnectRule, type CloseName, type ReconnectRule } from "../../shared/codes.ts";
import type { Ack, ServerMessage, ShowInfo, Stage, Totals, Welcome } from "./protocol-types.ts";
import { AckLedger } from "./ack-ledger.ts";
import { DEFAULT_RECONNECT, reconnectDelay, type ReconnectOptions } from "./backoff.ts";
import type { BuzzClientEvents, BuzzClientOptions, BuzzOutcome, ConnectionState, StateChange } from "./client-types.ts";
import { Emitter } from "./emitter.ts";
import { BuzzClientError } from "./errors.ts";
import { basicFrameCheck } from "./frame-check.ts";
import { HeldBuzzes, type Pending } from "./held-buzzes.ts";
import { fetchToken } from "./negotiate.ts";
import { openSocket, protocolUnavailable } from "./socket-attempt.ts";
import { OPEN, defaultWebSocket, toWsUrl, type WebSocketLike } from "./socket.ts";
import { TotalsView } from "./totals-view.ts";
import type { ProtocolName, Wire } from "./wire.ts";

/** A buzz is sent on at most this many connections (a connection that dies on every buzz ends it). */
const MAX_SENDS = 3;
/** The close (and error frame) name of a server drain: reported as a state, not an error. */
const DRAINING = "draining" satisfies CloseName;

export class BuzzClient {
  readonly #opts: Required<Omit<BuzzClientOptions, "viewer" | "reconnect" | "getToken">> & {
    viewer: string | undefined;
    getToken: BuzzClientOptions["getToken"];
  };
  readonly #backoff: ReconnectOptions | false;
  readonly #events: Emitter<BuzzClientEvents>;
  readonly #view = new TotalsView();
  readonly #ledger = new AckLedger<Pending>();
  readonly #held: HeldBuzzes;
  #sock: WebSocketLike | null = null;
  #state: ConnectionState = "idle";
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #staleTimer: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  /** Whether the current socket got its welcome (a drain before that is retried with backoff). */
  #wasLive = false;
  /** What the current socket's error frame asked for: come back after this long (a paced drain). */
  #retryAfterMs: number | undefined;
  /** Audience size from the latest frame that carried one (absent from servers that send none). */
  #watching: number | undefined;
  #welcome: Welcome | null = null;
  /** The current connection's wire, set when its socket opens (null before). */
  #wire: Wire | null = null;
  #lastProtocol: ProtocolName | null = null;
  /** Bumped by every attempt and by close(): a token arriving for an older attempt is dropped. */
  #attemptId = 0;
  /** The next attempt offers no subprotocol ("auto" after a WebSocket refused a v1 answer). */
  #fallbackNext = false;

  constructor(opts: BuzzClientOptions) {
    this.#opts = {
      url: toWsUrl(opts.url),
      show: opts.show,
      viewer: opts.viewer,
      protocol: opts.protocol ?? "v1",
      getToken: opts.getToken,
      WebSocket: opts.WebSocket ?? defaultWebSocket(),
      queueWhileDisconnected: opts.queueWhileDisconnected ?? true,
      maxQueued: opts.maxQueued ?? 64,
      queueTimeoutMs: opts.queueTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      staleAfterMs: opts.staleAfterMs ?? 10_000,
      frameCheck: opts.frameCheck ?? basicFrameCheck,
      random: opts.random ?? Math.random,
    };
    this.#held = new HeldBuzzes(this.#opts.queueTimeoutMs, (p, o) => this.#settle(p, o));
    this.#backoff = opts.reconnect === false ? false : { ...DEFAULT_RECONNECT, ...opts.reconnect };
    this.#events = new Emitter<BuzzClientEvents>((err, event) => {
      if (event === "error")
        queueMicrotask(() => {
          throw err;
        });
      else this.#events.emit("error", new BuzzClientError("listener_failed", `a "${String(event)}" listener threw`, { cause: err }));
    });
  }

  on<K extends keyof BuzzClientEvents>(event: K, fn: (payload: BuzzClientEvents[K]) => void): () => void {
    return this.#events.on(event, fn);
  }

  get state(): ConnectionState {
    return this.#state;
  }
  /** The show as last announced (null before the first welcome). */
  get show(): ShowInfo | null {
    return this.#welcome?.show ?? null;
  }
  get stage(): Stage | null {
    return this.#welcome ? { ...this.#welcome.stage } : null;
  }
  get policy(): Welcome["policy"] {
    return this.#welcome?.policy;
  }
  /** Protocol of the current (or last) connection, once its socket opened; null before. */
  get protocol(): ProtocolName | null {
    return this.#lastProtocol;
  }
  get tickMs(): number | null {
    return this.#welcome?.tickMs ?? null;
  }
  get epoch(): string | null {
    return this.#view.epoch;
  }
  get totals(): Readonly<Totals> {
    return this.#view.totals;
  }
  total(act: string): number {
    return this.#view.total(act);
  }

  /** Starts connecting (no-op unless idle or closed). */
  connect(): void {
    if (this.#state !== "idle" && this.#state !== "closed") return;
    this.#attempt = 0;
    this.#open("connecting");
  }

  /** Closes for good: held buzzes settle "not_sent", buzzes still awaiting their ack "unconfirmed". */
  close(): void {
    if (this.#state === "closed") return;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#attemptId++;
    const sock = this.#sock;
    if (sock !== null) {
      this.#detach();
      sock.close(1000, "client closed");
      this.#settleInflight(false);
    }
    this.#held.failAll();
    this.#setState({ state: "closed" });
  }

  buzz(act: string): Promise<BuzzOutcome> {
    return new Promise<BuzzOutcome>((resolve) => {
      const p: Pending = { act, resolve };
      if (this.#state === "closed") return this.#settle(p, "not_sent");
      if (this.#state === "live" && this.#sock?.readyState === OPEN) return this.#send(p);
      if (!this.#opts.queueWhileDisconnected || this.#held.size >= this.#opts.maxQueued) return this.#settle(p, "not_sent");
      this.#held.hold(p);
    });
  }

  // ------------------------------------------------------------------ connection lifecycle

  /**
   * One attempt. The first connect announces "connecting"; a reconnect attempt announces nothing:
   * the `reconnecting` event that scheduled it (with its code, reason and delay) already did, so
   * each lost connection or failed attempt is one `reconnecting` event.
   */
  #open(state: "connecting" | "reconnecting"): void {
    if (state === "connecting") this.#setState({ state, attempt: this.#attempt });
    const id = ++this.#attemptId;
    this.#connectTimer = setTimeout(() => this.#connectTimedOut(id), this.#opts.connectTimeoutMs);
    const getToken = this.#opts.getToken;
    if (getToken === undefined) return this.#openSocket(undefined);
    fetchToken(getToken).then(
      (token) => {
        if (id === this.#attemptId) this.#openSocket(token);
      },
      (err: unknown) => {
        if (id !== this.#attemptId) return;
        clearTimeout(this.#connectTimer);
        this.#events.emit("error", new BuzzClientError("token_unavailable", "getToken() failed", { cause: err }));
        this.#closed(CLOSE_ABNORMAL, "token unavailable", "backoff");
      },
    );
  }

  #connectTimedOut(id: number): void {
    if (id !== this.#attemptId) return;
    const message = `no welcome within ${this.#opts.connectTimeoutMs} ms`;
    if (this.#sock !== null) return this.#drop("connect_timeout", message);
    this.#attemptId++; // still waiting for getToken(): its answer is dropped
    this.#events.emit("error", new BuzzClientError("connect_timeout", `${message} (getToken() did not answer)`));
    this.#closed(CLOSE_ABNORMAL, "connect_timeout", "backoff");
  }

  #openSocket(token: string | undefined): void {
    const fallback = this.#fallbackNext;
    this.#fallbackNext = false;
    const o = this.#opts;
    let sock: WebSocketLike;
    try {
      sock = openSocket({ ...o, fallback }, (s) => s === this.#sock, {
        open: (wire) => {
          if (wire === null) return this.#v2Unavailable(sock);
          this.#wire = wire;
          this.#lastProtocol = wire.protocol;
          sock.send(wire.hello({ show: o.show, viewer: o.viewer, token }));
        },
        data: (data) => this.#onData(data),
        error: (err) => this.#events.emit("error", err),
        close: (code, reason, refusedOffer) => {
          this.#detach();
          if (refusedOffer && o.protocol === "auto") return this.#retryWithoutOffer(code);
          this.#closed(code, reason, undefined);
        },
      });
    } catch (err) {
      clearTimeout(this.#connectTimer);
      this.#events.emit("error", new BuzzClientError("socket_error", `cannot open ${o.url}`, { cause: err }));
      return this.#closed(CLOSE_ABNORMAL, "socket constructor threw", "never"); // a bad URL: retrying cannot help
    }
    this.#sock = sock;
    this.#wasLive = false;
    this.#wire = null;
  }

  /** protocol "v2" and the server answered without it: not this server, maybe another (backoff). */
  #v2Unavailable(sock: WebSocketLike): void {
    this.#events.emit("error", protocolUnavailable());
    this.#detach();
    sock.close(1000, "protocol_unavailable");
    this.#closed(CLOSE_ABNORMAL, "protocol_unavailable", "backoff");
  }

  /** "auto" on a WebSocket that refused the server's v1 answer: at once again, offering nothing. */
  #retryWithoutOffer(code: number): void {
    this.#fallbackNext = true;
    // Armed before the event: a listener that calls close() must be able to cancel it.
    this.#retryTimer = setTimeout(() => this.#open("reconnecting"), 0);
    this.#setState({ state: "reconnecting", code, reason: "server speaks v1 only", retryInMs: 0, attempt: this.#attempt });
  }

  /** Abandons the current socket (timeout, stale) and reconnects with backoff. */
  #drop(code: "connect_timeout" | "stale_connection", message: string): void {
    const sock = this.#sock;
    if (sock === null) return;
    this.#events.emit("error", new BuzzClientError(code, message));
    this.#detach();
    sock.close(1000, code);
    this.#closed(1006, code, "backoff");
  }

  /** Stops listening to the current socket (its late events are ignored) and clears its timers. */
  #detach(): void {
    this.#sock = null;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#staleTimer);
  }

  #closed(code: number, closeReason: string, forced: ReconnectRule | undefined): void {
    const reason = closeName(code) === DRAINING ? DRAINING : closeReason;
    let rule = this.#backoff === false ? "never" : (forced ?? this.#ruleFor(code));
    if (rule === "immediate" && !this.#wasLive) rule = "backoff"; // no tight loop against a server that keeps draining
    const retryAfterMs = this.#retryAfterMs;
    this.#retryAfterMs = undefined;
    const delay = this.#backoff === false ? null : reconnectDelay(rule, this.#attempt, this.#backoff, this.#opts.random, retryAfterMs);
    this.#settleInflight(delay !== null);
    if (delay === null) {
      this.#held.failAll();
      return this.#setState({ state: "closed", code, reason });
    }
    if (!this.#opts.queueWhileDisconnected) this.#held.failAll();
    if (rule === "backoff") this.#attempt++;
    // Armed before the event: a listener that calls close() must be able to cancel it.
    this.#retryTimer = setTimeout(() => this.#open("reconnecting"), delay);
    this.#setState({ state: "reconnecting", code, reason, retryInMs: delay, attempt: this.#attempt });
  }

  /** The close table's rule; "fresh_token" (4012 unauthorized): back off and fetch a new token, if getToken can. */
  #ruleFor(code: number): ReconnectRule {
    const rule = reconnectRule(code);
    if (rule === "fresh_token") return this.#opts.getToken !== undefined ? "backoff" : "never";
    return rule;
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#events.emit("state", change);
  }

  // ------------------------------------------------------------------ frames

  #onData(data: unknown): void {
    this.#lastFrameAt = Date.now();
    const wire = this.#wire;
    if (wire === null) return; // nothing can arrive before open; a stray frame has nothing to apply to
    const r = wire.decode(data);
    if (typeof r === "string") return this.#events.emit("error", new BuzzClientError("bad_server_frame", r));
    if (r.reply !== null) this.#sock?.send(r.reply);
    for (const msg of r.messages) this.#dispatch(msg);
  }

  #dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case "welcome":
        return this.#onWelcome(msg);
      case "totals": {
        // A frame may change only the audience size: that is news too.
        const audience = msg.watching !== undefined && msg.watching !== this.#watching;
        if (msg.watching !== undefined) this.#watching = msg.watching;
        if (this.#view.applyFrame(msg.epoch, msg.seq, msg.totals) || audience) this.#emitTotals();
        return;
      }
      case "stage":
        if (this.#welcome) this.#welcome.stage = { act: msg.act, open: msg.open };
        return this.#events.emit("stage", { act: msg.act, open: msg.open });
      case "show":
        if (this.#welcome) this.#welcome.show = msg.show;
        this.#events.emit("show", { show: msg.show, epoch: msg.epoch });
        if (this.#view.applyEpoch(msg.epoch)) this.#emitTotals();
        return;
      case "ack":
        return this.#onAck(msg);
      case "error":
        this.#retryAfterMs = msg.retryAfterMs;
        // A drain is the server's doing, not a fault: the close that follows reports it as a state
        // (`reconnecting`, reason "draining"), never as an error.
        if (msg.code === DRAINING) return;
        return this.#events.emit("error", new BuzzClientError(msg.code, msg.message));
    }
  }

  #onWelcome(w: Welcome): void {
    clearTimeout(this.#connectTimer);
    this.#welcome = { ...w, stage: { ...w.stage } };
    this.#attempt = 0;
    this.#wasLive = true;
    this.#view.applySnapshot(w.epoch, w.seq, w.totals);
    this.#watching = w.watching;
    this.#setState({ state: "live" });
    this.#events.emit("welcome", w);
    this.#events.emit("show", { show: w.show, epoch: w.epoch });
    this.#events.emit("stage", { ...w.stage });
    this.#emitTotals();
    this.#lastFrameAt = Date.now();
    const stale = this.#opts.staleAfterMs;
    clearInterval(this.#staleTimer);
    if (stale > 0) {
      this.#staleTimer = setInterval(
        () => {
          if (Date.now() - this.#lastFrameAt > stale) this.#drop("stale_connection", `no frame for ${stale} ms`);
        },
        Math.max(50, Math.floor(stale / 4)),
      );
    }
    for (const p of this.#held.take()) {
      // A resend into another epoch could count a press that already counted in the old one.
      if (p.sentEpoch !== undefined && p.sentEpoch !== w.epoch) this.#settle(p, "unconfirmed");
      else this.#send(p);
    }
  }

  #emitTotals(): void {
    const epoch = this.#view.epoch;
    if (epoch === null) return;
    const w = this.#watching;
    this.#events.emit("totals", { epoch, seq: this.#view.seq, totals: this.#view.totals, ...(w !== undefined ? { watching: w } : {}) });
  }

  #onAck(ack: Ack): void {
    const { resolved, mismatch } = this.#ledger.applyAck(ack);
    if (mismatch !== null) this.#events.emit("error", new BuzzClientError("ack_mismatch", mismatch));
    this.#events.emit("ack", ack);
    for (const r of resolved) this.#settle(r.item, r.outcome);
  }

  // ------------------------------------------------------------------ buzzes

  #send(p: Pending): void {
    const sock = this.#sock;
    if (sock === null || sock.readyState !== OPEN) return this.#held.hold(p);
    if (this.#welcome !== null && !this.#welcome.show.acts.some((a) => a.id === p.act)) {
      return this.#settle(p, "unknown_act"); // the server would refuse it too; not worth a round trip
    }
    const wire = this.#wire;
    if (wire === null) return this.#held.hold(p);
    p.sends = (p.sends ?? 0) + 1;
    p.sentEpoch = this.#view.epoch ?? undefined;
    sock.send(wire.buzz(p.act, this.#ledger.sent(p)));
  }

  /** Buzzes in flight on a connection that is gone: resent later if that is safe, else "unconfirmed". */
  #settleInflight(willReconnect: boolean): void {
    const inflight = this.#ledger.drain();
    const safe = willReconnect && this.#opts.queueWhileDisconnected && this.policy === "once" && this.#opts.viewer !== undefined;
    const retry: Pending[] = [];
    for (const p of inflight) {
      if (safe && (p.sends ?? 0) < MAX_SENDS) retry.push(p);
      else this.#settle(p, "unconfirmed");
    }
    this.#held.holdFirst(retry); // resent before anything pressed later, in the order pressed
  }

  #settle(p: Pending, outcome: BuzzOutcome): void {
    clearTimeout(p.expiry);
    p.resolve(outcome);
    this.#events.emit("buzz", { act: p.act, outcome });
  }
}
