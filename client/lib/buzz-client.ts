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
 */
import { PROTOCOL_VERSION, reconnectRule, type ReconnectRule } from "../../shared/codes.ts";
import type { Ack, Buzz, Hello, ServerMessage, ShowInfo, Stage, Totals, Welcome } from "../../shared/protocol.ts";
import { AckLedger } from "./ack-ledger.ts";
import { DEFAULT_RECONNECT, reconnectDelay, type ReconnectOptions } from "./backoff.ts";
import type { BuzzClientEvents, BuzzClientOptions, BuzzOutcome, ConnectionState, StateChange } from "./client-types.ts";
import { Emitter } from "./emitter.ts";
import { BuzzClientError } from "./errors.ts";
import { basicFrameCheck } from "./frame-check.ts";
import { HeldBuzzes, type Pending } from "./held-buzzes.ts";
import { OPEN, defaultWebSocket, toWsUrl, type WebSocketLike } from "./socket.ts";
import { TotalsView } from "./totals-view.ts";

/** A buzz is sent on at most this many connections (a connection that dies on every buzz ends it). */
const MAX_SENDS = 3;

export class BuzzClient {
  readonly #opts: Required<Omit<BuzzClientOptions, "viewer" | "reconnect">> & { viewer: string | undefined };
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
  #welcome: Welcome | null = null;

  constructor(opts: BuzzClientOptions) {
    this.#opts = {
      url: toWsUrl(opts.url),
      show: opts.show,
      viewer: opts.viewer,
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

  #open(state: "connecting" | "reconnecting"): void {
    this.#setState({ state, attempt: this.#attempt });
    let sock: WebSocketLike;
    try {
      sock = new this.#opts.WebSocket(this.#opts.url);
    } catch (err) {
      this.#events.emit("error", new BuzzClientError("socket_error", `cannot open ${this.#opts.url}`, { cause: err }));
      return this.#closed(1006, "socket constructor threw", "never"); // a bad URL: retrying cannot help
    }
    this.#sock = sock;
    this.#wasLive = false;
    this.#connectTimer = setTimeout(
      () => this.#drop("connect_timeout", `no welcome within ${this.#opts.connectTimeoutMs} ms`),
      this.#opts.connectTimeoutMs,
    );
    sock.onopen = () => {
      if (sock !== this.#sock) return;
      const hello: Hello = { type: "hello", protocol: PROTOCOL_VERSION, show: this.#opts.show };
      if (this.#opts.viewer !== undefined) hello.viewer = this.#opts.viewer;
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (ev) => {
      if (sock === this.#sock) this.#onData(ev.data);
    };
    // A socket error is always followed by a close event; the close decides what happens next.
    sock.onerror = (ev) => {
      if (sock !== this.#sock) return;
      const msg = (ev as { message?: unknown }).message;
      this.#events.emit("error", new BuzzClientError("socket_error", typeof msg === "string" ? msg : "WebSocket error"));
    };
    sock.onclose = (ev) => {
      if (sock !== this.#sock) return;
      this.#detach();
      this.#closed(ev.code, ev.reason, undefined);
    };
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

  #closed(code: number, reason: string, forced: ReconnectRule | undefined): void {
    let rule = this.#backoff === false ? "never" : (forced ?? reconnectRule(code));
    if (rule === "immediate" && !this.#wasLive) rule = "backoff"; // no tight loop against a server that keeps draining
    const delay = this.#backoff === false ? null : reconnectDelay(rule, this.#attempt, this.#backoff, this.#opts.random);
    this.#settleInflight(delay !== null);
    if (delay === null) {
      this.#held.failAll();
      return this.#setState({ state: "closed", code, reason });
    }
    if (!this.#opts.queueWhileDisconnected) this.#held.failAll();
    if (rule === "backoff") this.#attempt++;
    this.#setState({ state: "reconnecting", code, reason, retryInMs: delay, attempt: this.#attempt });
    this.#retryTimer = setTimeout(() => this.#open("reconnecting"), delay);
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#events.emit("state", change);
  }

  // ------------------------------------------------------------------ frames

  #onData(data: unknown): void {
    this.#lastFrameAt = Date.now();
    let parsed: unknown;
    try {
      if (typeof data !== "string") throw new Error("binary frame");
      parsed = JSON.parse(data);
    } catch (err) {
      return this.#events.emit("error", new BuzzClientError("bad_server_frame", "server frame is not JSON text", { cause: err }));
    }
    const msg = this.#opts.frameCheck(parsed);
    if (typeof msg === "string") return this.#events.emit("error", new BuzzClientError("bad_server_frame", msg));
    this.#dispatch(msg);
  }

  #dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case "welcome":
        return this.#onWelcome(msg);
      case "totals":
        if (this.#view.applyFrame(msg.epoch, msg.seq, msg.totals)) this.#emitTotals();
        return;
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
        return this.#events.emit("error", new BuzzClientError(msg.code, msg.message));
    }
  }

  #onWelcome(w: Welcome): void {
    clearTimeout(this.#connectTimer);
    this.#welcome = { ...w, stage: { ...w.stage } };
    this.#attempt = 0;
    this.#wasLive = true;
    this.#view.applySnapshot(w.epoch, w.seq, w.totals);
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
    if (epoch !== null) this.#events.emit("totals", { epoch, seq: this.#view.seq, totals: this.#view.totals });
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
    p.sends = (p.sends ?? 0) + 1;
    p.sentEpoch = this.#view.epoch ?? undefined;
    const frame: Buzz = { type: "buzz", act: p.act, seq: this.#ledger.sent(p) };
    sock.send(JSON.stringify(frame));
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
