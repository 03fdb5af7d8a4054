/**
 * The WebSocket endpoint: hello -> welcome, buzz -> tally, acks once per tick, and every way a
 * client can misbehave answered by an error frame and a close code from shared/codes.ts.
 *
 * Nothing here logs or allocates per subscriber. A canonical buzz frame is decoded straight from
 * its bytes (fast-buzz.ts); any other frame gets one JSON.parse and one zod parse. Bad input is
 * counted in metrics and never touches a count.
 */
import { CLOSE, type CloseName } from "../../shared/codes.ts";
import { ClientMessage, MAX_FRAME_BYTES, PROTOCOL_VERSION, WS_PATH, type Ack, type ErrorFrame, type Hello, type Welcome } from "../../shared/protocol.ts";
import type { BuzzIntake } from "../counting/buzz-intake.ts";
import type { RateLimiter } from "../counting/rate-limiter.ts";
import type { Ticker } from "../counting/ticker.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { ShowRegistry } from "../shows/show-registry.ts";
import type { Show } from "../shows/show.ts";
import { newConn, type Conn } from "./connection.ts";
import { fastBuzz } from "./fast-buzz.ts";
import { uWS, type TemplatedApp, type WebSocket } from "./uws.ts";

export interface WsOptions {
  tickMs: number;
  policy: "once" | "unlimited";
  maxConnections: number;
  maxBackpressure: number;
  idleTimeoutSec: number;
  /** Hard frame limit enforced by uWS itself (close 1009); ours (MAX_FRAME_BYTES) is checked first. */
  hardPayloadLimit: number;
}

export interface WsDeps {
  shows: ShowRegistry;
  intake: BuzzIntake;
  limiter: RateLimiter;
  ticker: Ticker;
  metrics: Metrics;
}

const decoder = new TextDecoder();

export class WsEndpoint {
  /** Every open connection (drain, sweeps). */
  readonly sockets = new Set<WebSocket<Conn>>();
  private ackQueue: WebSocket<Conn>[] = [];
  accepting = true;

  constructor(private readonly deps: WsDeps, private readonly opts: WsOptions) {}

  attach(app: TemplatedApp): void {
    const { metrics } = this.deps;
    app.ws<Conn>(WS_PATH, {
      compression: uWS.DISABLED,
      maxPayloadLength: this.opts.hardPayloadLimit,
      maxBackpressure: this.opts.maxBackpressure,
      idleTimeout: this.opts.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        res.upgrade(
          newConn(Date.now(), this.deps.limiter.fresh(Date.now())),
          req.getHeader("sec-websocket-key"),
          req.getHeader("sec-websocket-protocol"),
          req.getHeader("sec-websocket-extensions"),
          context,
        );
      },
      open: (ws) => {
        const c = ws.getUserData();
        c.open = true;
        this.sockets.add(ws);
        metrics.connections++;
        metrics.connectionsTotal++;
        if (!this.accepting) return this.close(ws, c, "draining", "server is shutting down");
        if (metrics.connections > this.opts.maxConnections) {
          metrics.connectionsRefused++;
          return this.close(ws, c, "server_full", "server is at its connection limit");
        }
      },
      message: (ws, data, isBinary) => {
        this.deps.ticker.poke();
        const c = ws.getUserData();
        if (isBinary) return this.close(ws, c, "binary_unsupported", "binary frames are not part of protocol v1");
        if (data.byteLength > MAX_FRAME_BYTES) return this.close(ws, c, "too_large", `frames are limited to ${MAX_FRAME_BYTES} bytes`);
        const fast = fastBuzz(data);
        if (fast !== null) return this.buzz(ws, c, fast.act, fast.seq);
        let raw: unknown;
        try {
          raw = JSON.parse(decoder.decode(data));
        } catch {
          return this.close(ws, c, "bad_frame", "frame is not valid JSON");
        }
        const parsed = ClientMessage.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          return this.close(ws, c, "bad_frame", issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid frame");
        }
        const msg = parsed.data;
        if (msg.type === "buzz") return this.buzz(ws, c, msg.act, msg.seq);
        this.hello(ws, c, msg);
      },
      drain: () => {},
      close: (ws, code) => {
        const c = ws.getUserData();
        c.open = false;
        this.sockets.delete(ws);
        metrics.connections--;
        if (code === 1009) metrics.countClose("too_large_hard");
      },
    });
  }

  private buzz(ws: WebSocket<Conn>, c: Conn, act: string, seq: number): void {
    const show = c.show;
    if (show === null) return this.close(ws, c, "hello_required", "send hello before buzzing");
    const result = this.deps.intake.buzz(c, show, act, seq, this.deps.limiter.enabled ? Date.now() : 0);
    if (result === "flood") return this.close(ws, c, "flooding", "buzzing far above the rate limit");
    if (!c.ackPending) {
      c.ackPending = true;
      this.ackQueue.push(ws);
    }
  }

  /** Send the pending cumulative acks; called at the start of each tick. */
  flushAcks(): void {
    const q = this.ackQueue;
    if (q.length === 0) return;
    this.ackQueue = [];
    for (const ws of q) {
      const c = ws.getUserData();
      c.ackPending = false;
      if (!c.open) continue;
      const ack: Ack = { type: "ack", seq: c.lastSeq, counted: c.counted, rejected: c.rejected, last: c.last };
      this.send(ws, JSON.stringify(ack));
    }
  }

  /** Periodic sweep: hello timeouts and slow consumers. O(connections), run about once a second. */
  sweep(nowMs: number, helloTimeoutMs: number, slowSweeps: number): void {
    let over = 0;
    for (const ws of this.sockets) {
      const c = ws.getUserData();
      if (c.show === null && nowMs - c.openedAt > helloTimeoutMs) {
        this.close(ws, c, "hello_timeout", "no hello received in time");
        continue;
      }
      if (ws.getBufferedAmount() >= this.opts.maxBackpressure) {
        over++;
        if (++c.overLimitSweeps >= slowSweeps) {
          this.deps.metrics.slowConsumersClosed++;
          this.close(ws, c, "slow_consumer", "not reading frames; reconnect to resume");
        }
      } else c.overLimitSweeps = 0;
    }
    this.deps.metrics.backpressuredConnections = over;
  }

  /** Close every connection with the drain code (reconnect immediately elsewhere). */
  drainAll(): void {
    this.accepting = false;
    for (const ws of [...this.sockets]) this.close(ws, ws.getUserData(), "draining", "server is restarting; reconnect");
  }

  /**
   * Resolves once every connection has finished closing; after `timeoutMs` the stragglers are
   * dropped without a handshake. (A worker thread must not exit with sockets still open.)
   */
  async whenAllClosed(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.sockets.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    if (this.sockets.size > 0) {
      this.closeAll();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Drop every connection at once, without a close handshake (fatal error path). */
  closeAll(): void {
    this.accepting = false;
    for (const ws of [...this.sockets]) {
      ws.getUserData().open = false;
      ws.close();
    }
  }

  private hello(ws: WebSocket<Conn>, c: Conn, msg: Hello): void {
    if (c.show !== null || c.greeting) return this.close(ws, c, "hello_required", "hello may be sent only once");
    if (msg.protocol !== PROTOCOL_VERSION) return this.close(ws, c, "unsupported_protocol", `this server speaks protocol ${PROTOCOL_VERSION}`);
    if (msg.viewer !== undefined) c.viewerKey = `v:${msg.viewer}`;
    const show = this.deps.shows.get(msg.show);
    if (show) return this.join(ws, c, show);
    // Not known here: it may have been created on another node a moment ago.
    c.greeting = true;
    this.deps.shows.find(msg.show).then(
      (found) => {
        c.greeting = false;
        if (!c.open) return;
        if (found) ws.cork(() => this.join(ws, c, found));
        else this.close(ws, c, "unknown_show", `no show ${msg.show}`);
      },
      () => {
        c.greeting = false;
        if (c.open) this.close(ws, c, "server_error", "could not look up the show; try again");
      },
    );
  }

  private join(ws: WebSocket<Conn>, c: Conn, show: Show): void {
    c.show = show;
    // Subscribe first, then snapshot: every later totals frame reaches this socket.
    ws.subscribe(show.topic);
    this.send(ws, (show.welcomeCache ??= this.welcome(show)));
  }

  private welcome(show: Show): string {
    const w: Welcome = {
      type: "welcome", protocol: PROTOCOL_VERSION, show: show.info, stage: show.stage, tickMs: this.opts.tickMs,
      epoch: show.epoch, seq: show.seq, totals: show.totals, policy: this.opts.policy,
    };
    return JSON.stringify(w);
  }

  private send(ws: WebSocket<Conn>, frame: string): void {
    const r = ws.send(frame, false, false);
    if (r === 2) this.deps.metrics.sendDropped++;
    else if (r === 0) this.deps.metrics.sendBackpressured++;
  }

  /** Error frame, then close with the table's code. Safe to call on a closing connection. */
  close(ws: WebSocket<Conn>, c: Conn, name: CloseName, message: string): void {
    if (!c.open) return;
    this.deps.metrics.countClose(name);
    const err: ErrorFrame = { type: "error", code: name, message };
    ws.send(JSON.stringify(err), false, false);
    c.open = false;
    ws.end(CLOSE[name].code, name);
  }
}
