/**
 * BuzzClient: one viewer's (or console's) connection to a show, for browsers, React Native and Node.
 *
 * Guarantees:
 *  - Reconnects by the close-code table (shared/codes.ts; connection.ts): never after a "never" close,
 *    at once (with jitter) after a drain, with exponential backoff and jitter otherwise. Each
 *    (re)connection sends `hello` and takes the server's snapshot before anything else is applied.
 *  - `totals` events never go backwards within an epoch (TotalsView); a new epoch replaces them.
 *  - Every `buzz()` promise settles exactly once, with the server's outcome, or "not_sent" (it never
 *    left this device: queue disabled/full/timed out, or the client was closed), or "unconfirmed" (it
 *    was sent, the connection dropped before the ack, and resending could double count it).
 *    Buzzes in flight at a disconnect are resent only when the server deduplicates them: policy
 *    "once", a viewer id, and the new connection's epoch is the one the buzz was sent in, so a
 *    resend of a buzz that already counted comes back "duplicate", on whichever node or worker the
 *    reconnect lands: the server's dedup is fleet-wide (docs/protocol.md states the rule,
 *    docs/architecture.md its limits).
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
import type { Ack, ServerMessage, ShowInfo, Stage, Totals, Welcome } from "./protocol-types.ts";
import { AckLedger } from "./ack-ledger.ts";
import { DEFAULT_RECONNECT } from "./backoff.ts";
import type { BuzzClientEvents, BuzzClientOptions, BuzzOutcome, ConnectionState, StateChange } from "./client-types.ts";
import { Connection, DRAINING, type ResolvedOptions } from "./connection.ts";
import { Emitter } from "./emitter.ts";
import { BuzzClientError } from "./errors.ts";
import { basicFrameCheck } from "./frame-check.ts";
import { HeldBuzzes, type Pending } from "./held-buzzes.ts";
import { OPEN, defaultWebSocket, toWsUrl } from "./socket.ts";
import { TotalsView } from "./totals-view.ts";
import type { ProtocolName } from "./wire.ts";

/** A buzz is sent on at most this many connections (a connection that dies on every buzz ends it). */
const MAX_SENDS = 3;

export class BuzzClient {
  readonly #opts: ResolvedOptions;
  readonly #conn: Connection;
  readonly #events: Emitter<BuzzClientEvents>;
  readonly #view = new TotalsView();
  readonly #ledger = new AckLedger<Pending>();
  readonly #held: HeldBuzzes;
  #state: ConnectionState = "idle";
  /** Audience size from the latest frame that carried one (absent from servers that send none). */
  #watching: number | undefined;
  #welcome: Welcome | null = null;

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
    this.#conn = new Connection(this.#opts, opts.reconnect === false ? false : { ...DEFAULT_RECONNECT, ...opts.reconnect }, {
      setState: (change) => this.#setState(change),
      error: (err) => this.#events.emit("error", err),
      data: (data) => this.#onData(data),
      lost: (willReconnect) => this.#settleInflight(willReconnect),
      failHeld: () => this.#held.failAll(),
    });
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
    return this.#conn.lastProtocol;
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
    this.#conn.connect();
  }

  /** Closes for good: held buzzes settle "not_sent", buzzes still awaiting their ack "unconfirmed". */
  close(): void {
    if (this.#state === "closed") return;
    this.#conn.shutdown();
    this.#held.failAll();
    this.#setState({ state: "closed" });
  }

  buzz(act: string): Promise<BuzzOutcome> {
    return new Promise<BuzzOutcome>((resolve) => {
      const p: Pending = { act, resolve };
      if (this.#state === "closed") return this.#settle(p, "not_sent");
      if (this.#state === "live" && this.#conn.sock?.readyState === OPEN) return this.#send(p);
      if (!this.#opts.queueWhileDisconnected || this.#held.size >= this.#opts.maxQueued) return this.#settle(p, "not_sent");
      this.#held.hold(p);
    });
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#events.emit("state", change);
  }

  // ------------------------------------------------------------------ frames

  #onData(data: unknown): void {
    const wire = this.#conn.wire;
    if (wire === null) return; // nothing can arrive before open; a stray frame has nothing to apply to
    const r = wire.decode(data);
    if (typeof r === "string") return this.#events.emit("error", new BuzzClientError("bad_server_frame", r));
    if (r.reply !== null) this.#conn.sock?.send(r.reply);
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
        this.#conn.retryAfterMs = msg.retryAfterMs;
        // A drain is the server's doing, not a fault: the close that follows reports it as a state
        // (`reconnecting`, reason "draining"), never as an error.
        if (msg.code === DRAINING) return;
        return this.#events.emit("error", new BuzzClientError(msg.code, msg.message));
    }
  }

  #onWelcome(w: Welcome): void {
    this.#conn.welcomed();
    this.#welcome = { ...w, stage: { ...w.stage } };
    this.#view.applySnapshot(w.epoch, w.seq, w.totals);
    this.#watching = w.watching;
    this.#setState({ state: "live" });
    this.#events.emit("welcome", w);
    this.#events.emit("show", { show: w.show, epoch: w.epoch });
    this.#events.emit("stage", { ...w.stage });
    this.#emitTotals();
    this.#conn.watchStale();
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
    const sock = this.#conn.sock;
    if (sock === null || sock.readyState !== OPEN) return this.#held.hold(p);
    if (this.#welcome !== null && !this.#welcome.show.acts.some((a) => a.id === p.act)) {
      return this.#settle(p, "unknown_act"); // the server would refuse it too; not worth a round trip
    }
    const wire = this.#conn.wire;
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
