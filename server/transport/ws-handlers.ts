/**
 * The WebSocket endpoint: hello -> welcome, buzz -> tally, acks once per tick, and every way a
 * client can misbehave answered by an error frame and a close code from shared/codes.ts. Every
 * frame goes out through the broadcast hub. The wire protocol is chosen at the upgrade (v2 when
 * the client offers the `buzzcast.v2` subprotocol) and fixed for the connection; v2 frames are
 * decoded by ws-v2.ts and then take the same hello/buzz/close paths as v1.
 *
 * Nothing here logs or allocates per subscriber. A canonical buzz frame is decoded straight from
 * its bytes (fast-buzz.ts) and its act bytes matched in the show's act table (no string per buzz);
 * any other frame gets one JSON.parse and one zod parse. Bad input is counted in metrics and never
 * touches a count. What is settled before any handler runs (negotiation, uWS's own drops): ws-wire.ts.
 * Around it: admission control at the upgrade (upgrade.ts, admission.ts), hello -> welcome
 * (ws-hello.ts), the paced drain (drain-pacer.ts), readers that stop reading parked (reader-flow.ts), and frames of a tick fired from the message path
 * sent at once (fanout.ts).
 */
import { performance } from "node:perf_hooks";
import { CLOSE_ABNORMAL, type CloseName } from "../../shared/codes.ts";
import { ClientMessage, MAX_FRAME_BYTES, WS_PATH, type Hello } from "../../shared/protocol.ts";
import type { AckState } from "../broadcast/frames.ts";
import type { Hub } from "../broadcast/hub.ts";
import type { BuzzIntake } from "../counting/buzz-intake.ts";
import type { RateLimiter } from "../counting/rate-limiter.ts";
import type { Counting, ShowCounts } from "../counting/show-counts.ts";
import type { TallySlot } from "../counting/tally.ts";
import type { Ticker } from "../counting/ticker.ts";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { ShowRegistry } from "../shows/show-registry.ts";
import type { ViewerTokens } from "../auth/viewer-tokens.ts";
import { Admission, type AdmissionOptions } from "./admission.ts";
import { newConn, type Conn } from "./connection.ts";
import { DrainPacer } from "./drain-pacer.ts";
import { fastBuzz } from "./fast-buzz.ts";
import type { Fanout } from "./fanout.ts";
import { upgrade } from "./upgrade.ts";
import { ReaderFlow, type ReaderFlowOptions } from "./reader-flow.ts";
import type { TopicStreams } from "./topic-streams.ts";
import { Greeter } from "./ws-hello.ts";
import { uWS, type TemplatedApp, type WebSocket } from "./uws.ts";
import { V2Input, type FrameSink } from "./ws-v2.ts";
import { uwsDrop } from "./ws-wire.ts";

export interface WsOptions {
  maxConnections: number;
  maxBackpressure: number;
  idleTimeoutSec: number;
  /** Hard frame limit enforced by uWS itself; ours (MAX_FRAME_BYTES) is checked first. */
  hardPayloadLimit: number;
  /** Admission control at the upgrade (ws-policy.ts); absent: every upgrade is admitted. */
  admission?: AdmissionOptions;
  /** Reconnect rate a paced drain sizes its window for (per second; ws-policy.ts). */
  drainReconnectRatePerSec?: number;
  /** Reader flow control (reader-flow.ts); absent: only uWS's backpressure and the sweep. */
  readerFlow?: ReaderFlowOptions;
}

export interface WsDeps {
  shows: ShowRegistry;
  counting: Counting;
  intake: BuzzIntake;
  limiter: RateLimiter;
  ticker: Ticker;
  hub: Hub;
  metrics: Metrics;
  log: Logger;
  /** Viewer tokens (VIEWER_TOKEN_SECRET): hello must carry a valid one. Absent/null: anonymous viewer ids. */
  tokens?: ViewerTokens | null;
  /** The hub's publisher (fanout.ts): frames of a tick fired from the message path go out at once. */
  fanout?: Fanout;
  /** The hub's publisher with per-topic byte counts (required by reader flow control). */
  streams?: TopicStreams;
}

const decoder = new TextDecoder();
const NO_ACKS = (): void => {};

export class WsEndpoint implements FrameSink {
  /** Every open connection (drain, sweeps). */
  private readonly sockets = new Set<WebSocket<Conn>>();
  private ackQueue: WebSocket<Conn>[] = [];
  private accepting = true;
  private readonly v2: V2Input;
  private readonly greeter: Greeter;
  private readonly flow: ReaderFlow | null;
  private readonly admission: Admission | null;
  private pacer: DrainPacer<WebSocket<Conn>> | null = null;
  private drained: Promise<void> | null = null;
  /**
   * Drain closes waiting for the flush that carries their connection's last buzzes: the close
   * follows that flush's ack (value: the connection's `retryAfterMs`).
   */
  private readonly closeAfterAck = new Map<WebSocket<Conn>, number | undefined>();

  constructor(
    private readonly deps: WsDeps,
    private readonly opts: WsOptions,
  ) {
    this.v2 = new V2Input(this, deps.hub);
    const { streams } = deps;
    this.flow =
      streams && opts.readerFlow
        ? new ReaderFlow(streams, deps.hub, deps.fanout, this, () => deps.metrics.slowConsumersClosed++, opts.readerFlow)
        : null;
    const flow = this.flow;
    if (flow) deps.metrics.addCollector(() => flow.metrics());
    this.greeter = new Greeter(deps, this, this.flow);
    this.admission = opts.admission ? new Admission(opts.admission) : null;
    const admission = this.admission;
    if (admission) deps.metrics.addCollector(() => admission.metrics());
    const fanout = deps.fanout;
    if (fanout) deps.metrics.addCollector(() => fanout.metrics());
  }

  /** True while admission control refuses upgrades over the node's connect rate (/readyz). */
  shedding(now: number): boolean {
    return this.admission?.shedding(now) ?? false;
  }

  attach(app: TemplatedApp): void {
    const { metrics } = this.deps;
    app.ws<Conn>(WS_PATH, {
      compression: uWS.DISABLED,
      maxPayloadLength: this.opts.hardPayloadLimit,
      maxBackpressure: this.opts.maxBackpressure,
      idleTimeout: this.opts.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) =>
        upgrade(
          res,
          req,
          context,
          this.admission,
          (protocol) => newConn(Date.now(), this.deps.limiter.fresh(Date.now()), protocol),
          () => this.sockets.size,
        ),
      open: (ws) => {
        const c = ws.getUserData();
        c.open = true;
        this.sockets.add(ws);
        metrics.connections++;
        metrics.connectionsTotal++;
        this.deps.hub.wire.connections[c.protocol]++;
        if (!this.accepting) return this.drainClose(ws, this.pacer?.lateRetryMs());
        if (metrics.connections > this.opts.maxConnections) {
          metrics.connectionsRefused++;
          return this.close(ws, c, "server_full", "server is at its connection limit");
        }
      },
      message: (ws, data, isBinary) => {
        // A tick fired from here publishes while uWS's iteration runs: fanout.ts sends it at once.
        const fanout = this.deps.fanout;
        if (fanout) fanout.inMessagePath = true;
        this.deps.ticker.poke();
        if (fanout) fanout.inMessagePath = false;
        this.pacer?.poke();
        const c = ws.getUserData();
        if (c.protocol === 2) return this.v2.message(ws, c, data, isBinary);
        if (isBinary) return this.close(ws, c, "binary_unsupported", "binary frames are not part of protocol v1");
        if (data.byteLength > MAX_FRAME_BYTES) return this.close(ws, c, "too_large", `frames are limited to ${MAX_FRAME_BYTES} bytes`);
        const fast = fastBuzz(data);
        if (fast !== null) {
          const counts = c.counts;
          if (counts === null) return this.close(ws, c, "hello_required", "send hello before buzzing");
          return this.buzz(ws, c, counts, counts.table.match(fast.bytes, fast.actStart, fast.actLen), fast.seq);
        }
        let raw: unknown;
        try {
          raw = JSON.parse(decoder.decode(data));
        } catch {
          return this.close(ws, c, "bad_frame", "frame is not valid JSON");
        }
        const parsed = ClientMessage.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          // A hello whose only fault is its viewer id is refused as such (never counted, never audited).
          if (issue?.path[0] === "viewer") return this.close(ws, c, "bad_viewer", `viewer: ${issue.message}`);
          return this.close(ws, c, "bad_frame", issue ? `${issue.path.join(".") || "frame"}: ${issue.message}` : "invalid frame");
        }
        const msg = parsed.data;
        if (msg.type === "hello") return this.hello(ws, c, msg);
        const counts = c.counts;
        if (counts === null) return this.close(ws, c, "hello_required", "send hello before buzzing");
        this.buzz(ws, c, counts, counts.table.get(msg.act), msg.seq);
      },
      pong: (ws, message) => this.flow?.pong(ws, ws.getUserData(), message),
      close: (ws, code, message) => {
        const c = ws.getUserData();
        c.open = false;
        this.flow?.left(ws, c);
        this.sockets.delete(ws);
        this.closeAfterAck.delete(ws);
        this.deps.fanout?.left(ws, c);
        metrics.connections--;
        this.deps.hub.wire.connections[c.protocol]--;
        const dropped = code === CLOSE_ABNORMAL ? uwsDrop(message) : undefined;
        if (dropped !== undefined) metrics.countClose(dropped);
      },
    });
  }

  buzz(ws: WebSocket<Conn>, c: Conn, counts: ShowCounts, slot: TallySlot | null, seq: number): void {
    const result = this.deps.intake.buzz(c, counts, slot, seq, this.deps.limiter.enabled ? Date.now() : 0);
    if (result === "flood") return this.close(ws, c, "flooding", "buzzing far above the rate limit");
    if (!c.ackPending) {
      c.ackPending = true;
      c.ackSince = performance.now();
      this.ackQueue.push(ws);
    }
  }

  /**
   * Take the pending cumulative acks as they stand now, right before the tick drains the tallies
   * into the store; the returned function sends them once the store holds the buzzes they cover
   * (`stored`), or queues their connections again when it does not (a failed flush: the next ack
   * covers them). So an ack never leaves before its buzzes are in the store: a worker that dies
   * while its flush waits (a counter slot, a backend) loses only buzzes it never acknowledged.
   */
  takeAcks(): (stored: boolean) => void {
    const q = this.ackQueue;
    if (q.length === 0) return NO_ACKS;
    this.ackQueue = [];
    const taken: Array<[WebSocket<Conn>, AckState, number]> = [];
    for (const ws of q) {
      const c = ws.getUserData();
      // An ack is cumulative: none goes out while a claim of this connection is undecided (it
      // stays queued and goes at the first tick after the store's decision).
      if (c.undecided > 0 && c.open) {
        this.ackQueue.push(ws);
        continue;
      }
      c.ackPending = false;
      if (c.open) taken.push([ws, { lastSeq: c.lastSeq, counted: c.counted, rejected: { ...c.rejected }, last: c.last }, c.ackSince]);
    }
    return (stored) => {
      const now = performance.now();
      const latency = this.deps.metrics.ackLatency;
      for (const [ws, ack, since] of taken) {
        const c = ws.getUserData();
        if (!c.open) continue;
        if (stored) {
          this.deps.hub.ack(ws, ack, c.protocol);
          latency.observe((now - since) / 1000);
          // A drain close that waited for this ack (and no buzz came in since) goes now.
          if (!c.ackPending && this.closeAfterAck.has(ws)) {
            const retryAfterMs = this.closeAfterAck.get(ws);
            this.closeAfterAck.delete(ws);
            this.finishDrainClose(ws, c, retryAfterMs);
          }
        } else if (!c.ackPending) {
          // Queued again with its first buzz's time, so the latency it reports includes the wait.
          c.ackPending = true;
          c.ackSince = since;
          this.ackQueue.push(ws);
        }
      }
    };
  }

  /** Periodic sweep: hello timeouts and slow consumers. O(connections), run about once a second. */
  sweep(nowMs: number, helloTimeoutMs: number, slowSweeps: number): void {
    let over = 0;
    for (const ws of this.sockets) {
      const c = ws.getUserData();
      if (c.counts === null && nowMs - c.openedAt > helloTimeoutMs) {
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

  /** One slice of reader flow control's staggered visits (every `readerFlow.sliceMs`). */
  visitReaders(nowMs: number): void {
    this.flow?.visit(nowMs);
  }

  /**
   * Stop accepting and close every connection with the drain code, paced (drain-pacer.ts): in
   * batches over `spreadMs`, each told when to come back (`retryAfterMs`). Ticks go on meanwhile.
   * A connection whose buzzes are all acknowledged is closed at its turn; one with buzzes since the
   * last flush is closed right after the next flush's ack, which covers them (an ack never covers
   * a buzz the store, and its journal, were not handed: a SIGKILL during the drain loses nothing
   * acknowledged). After `ackWaitMs` past the last turn, what still waits (flushes failing) is
   * closed without that ack: its last buzzes are then unconfirmed for the client, and still
   * counted by the drain's final flush. Resolves when every connection is closed.
   */
  drainAll(spreadMs = 0, ackWaitMs = 0): Promise<void> {
    this.accepting = false;
    if (this.drained) return this.drained;
    const rate = this.opts.drainReconnectRatePerSec ?? 0;
    this.pacer = new DrainPacer(this.sockets, spreadMs, rate, { close: (ws, retryAfterMs) => this.drainClose(ws, retryAfterMs) });
    this.drained = this.pacer.done.then(() => this.closeWaiting(ackWaitMs));
    return this.drained;
  }

  /** The drain's last step: wait up to `ackWaitMs` for the acks drain closes wait for, then close. */
  private async closeWaiting(ackWaitMs: number): Promise<void> {
    const until = performance.now() + ackWaitMs;
    while (this.closeAfterAck.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    if (this.closeAfterAck.size > 0)
      this.deps.log.warn("drain: closing connections whose last ack did not come", { connections: this.closeAfterAck.size });
    for (const [ws, retryAfterMs] of this.closeAfterAck) {
      const c = ws.getUserData();
      if (c.open) this.finishDrainClose(ws, c, retryAfterMs);
    }
    this.closeAfterAck.clear();
  }

  /**
   * One connection's drain close: error frame + 1001, at once when nothing it sent waits for an
   * ack (or only undecided claims, which a shutdown drops unacknowledged), else after the next
   * flush's ack (takeAcks).
   */
  private drainClose(ws: WebSocket<Conn>, retryAfterMs: number | undefined): void {
    const c = ws.getUserData();
    if (!c.open) return;
    if (c.ackPending && c.undecided === 0) {
      this.closeAfterAck.set(ws, retryAfterMs);
      return;
    }
    this.finishDrainClose(ws, c, retryAfterMs);
  }

  private finishDrainClose(ws: WebSocket<Conn>, c: Conn, retryAfterMs: number | undefined): void {
    this.deps.metrics.countClose("draining");
    c.open = false;
    this.deps.hub.close(ws, "draining", "server is restarting; reconnect", c.protocol, retryAfterMs);
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

  /** Hello of either protocol (v2's is mapped to this shape by ws-v2.ts): one path for both (ws-hello.ts). */
  hello(ws: WebSocket<Conn>, c: Conn, msg: Hello): void {
    this.greeter.hello(ws, c, msg);
  }

  /** Error frame, then close with the table's code. Safe to call on a closing connection. */
  close(ws: WebSocket<Conn>, c: Conn, name: CloseName, message: string): void {
    if (!c.open) return;
    this.deps.metrics.countClose(name);
    c.open = false;
    this.deps.hub.close(ws, name, message, c.protocol);
  }
}
