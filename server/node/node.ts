/**
 * One buzzcast server (an App, its tick loop and its sweeps) over the backends it is given.
 * main.ts chooses the backends; workers (WORKERS>1) each run one of these on the same port.
 *
 * Shutdown order (drain): stop listening -> close every socket with the drain code, paced over
 * DRAIN_SPREAD_MS, each sent its pending ack just before its close (ticks go on meanwhile) -> stop
 * the ticker -> final store flush -> store.close() persists everything retained -> the App is
 * closed, dropping any connection still open (HTTP keep-alive): nothing of uWS outlives a drain.
 */
import { Hub } from "../broadcast/hub.ts";
import { OnAirRecorder, WATCH_MS } from "../broadcast/on-air-recorder.ts";
import { BuzzIntake } from "../counting/buzz-intake.ts";
import { createPolicy } from "../counting/buzz-policy.ts";
import { RateLimiter } from "../counting/rate-limiter.ts";
import { Counting } from "../counting/show-counts.ts";
import { backendMode, type Backends } from "../store/choose-backends.ts";
import { TickLoop } from "../counting/tick-loop.ts";
import { Ticker } from "../counting/ticker.ts";
import { tickFamilies } from "./tick-metrics.ts";
import type { FlushQuorum } from "../store/flush-quorum.ts";
import { drainSpreadMs, type Config } from "../config.ts";
import type { Logger } from "../ops/logger.ts";
import { Metrics, renderPrometheus } from "../ops/metrics.ts";
import { DEMO_SHOW, ShowConflict, ShowRegistry } from "../shows/show-registry.ts";
import { votingChanges } from "../shows/voting-changes.ts";
import { ViewerTokens } from "../auth/viewer-tokens.ts";
import { auditApiDeps } from "../transport/audit-api.ts";
import { attachHttp } from "../transport/http-api.ts";
import { PublicReadGate } from "../transport/public-reads.ts";
import { StaticFiles } from "../transport/static-files.ts";
import { appsClosedForGood, closeApp, createApp, uWS, type us_listen_socket } from "../transport/uws.ts";
import { WsEndpoint } from "../transport/ws-handlers.ts";
import { Fanout } from "../transport/fanout.ts";
import { TopicStreams } from "../transport/topic-streams.ts";
import { wsPolicy } from "../transport/ws-policy.ts";

/** Reader flow control visits every reader once per round, a slice every READER_SLICE_MS (transport/reader-flow.ts). */
const READER_ROUND_MS = 500;
const READER_SLICE_MS = 100;
/** Parked readers closed per slice at most: 500/s per App (10,000 that stopped together: 20 s). */
const READER_CLOSES_PER_SLICE = 50;

export interface NodeHandle {
  port: number;
  metrics: Metrics;
  shows: ShowRegistry;
  /** This node's own readiness (store health, draining). */
  readiness(): Readiness;
  /** Stop accepting, close sockets with the drain code, persist; resolves when done. */
  drain(): Promise<void>;
  /**
   * After a fatal error: close the listen socket and every connection at once (clients reconnect),
   * without a final flush; nothing of uWS stays open. What the tally held is lost (at most one tick).
   */
  abort(): void;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface NodeExtras {
  /** Prometheus text for /metrics (workers: the whole node's); default: this App's metrics. */
  renderMetrics?: () => Promise<string>;
  /** Combine this App's readiness with the rest of the node's (workers). */
  combineReadiness?: (local: Readiness) => Readiness;
  /** Embedded workers: the supervisor's tally of the workers' flushes (cluster/flush-relay.ts). */
  quorum?: FlushQuorum;
}

export async function startNode(cfg: Config, adminToken: string, log: Logger, b: Backends, extra: NodeExtras = {}): Promise<NodeHandle> {
  const metrics = new Metrics();
  if (b.metrics) metrics.addCollector(b.metrics);
  const shows = new ShowRegistry(b.showSource, { tickMs: cfg.TICK_MS, log });
  // Several processes count (workers, nodes): `once` claims go to the store, which decides fleet-wide.
  const policy = createPolicy(cfg.BUZZ_POLICY, b.store.decidesClaims === true);
  metrics.addCollector(() => [
    {
      name: "buzzcast_once_policy_viewers",
      help: "Viewers the once policy remembers (live show epochs only).",
      kind: "gauge",
      samples: [{ value: policy.remembered }],
    },
  ]);
  const counting = new Counting(shows, policy, b.store.auditsViewers === true);
  const limiter = new RateLimiter(cfg.RATE_LIMIT_PER_SEC, cfg.RATE_LIMIT_BURST, cfg.FLOOD_CLOSE_AFTER);
  const intake = new BuzzIntake(policy, limiter, metrics);
  const tokens = cfg.VIEWER_TOKEN_SECRET ? new ViewerTokens(cfg.VIEWER_TOKEN_SECRET) : null;
  if (tokens) metrics.addCollector(() => tokens.metrics());

  const app = createApp();
  // uWS crashes on publish before the App is listening (seen with this build): frames published
  // before then are dropped; nobody can be subscribed before it listens anyway.
  let listening = false;
  // app.publish, or direct sends when a tick fires inside uWS's message path (transport/fanout.ts).
  const fanout = new Fanout(app, () => listening);
  // Bytes published per topic: what reader flow control measures a reader's unread bytes against.
  const streams = new TopicStreams(fanout);
  const hub = new Hub(streams, metrics, { tickMs: cfg.TICK_MS, heartbeatMs: 1000, policy: cfg.BUZZ_POLICY }, log);
  let tickLoop: TickLoop | null = null;
  // With a durable record: what this node put on air for each act once its voting closed.
  // Watched past the first reconcile pass (choose-backends.ts: 2 ticks + 2 persist intervals + 0.5 s), with 5 s to publish it.
  const reconcileDelayMs = 2 * cfg.TICK_MS + 2 * cfg.PERSIST_INTERVAL_MS + 500;
  const onAir = b.record ? new OnAirRecorder(b.record, cfg.NODE_ID, log, Math.max(WATCH_MS, reconcileDelayMs + 5000)) : null;
  if (onAir) metrics.addCollector(() => onAir.metrics());
  // Aligned two-phase ticks (docs/architecture.md, "The tick: aligned, in two phases"): flush at k x TICK_MS,
  // read and publish once every unit's flush landed, PUBLISH_OFFSET_MS later at the latest.
  const offsetMs = publishOffsetMs(cfg);
  const quorum = extra.quorum ?? b.quorum;
  const ticker = new Ticker(cfg.TICK_MS, offsetMs, {
    flush: (k, lag, fromMsg) => tickLoop?.flushPhase(k, lag, fromMsg),
    publish: (k) => tickLoop?.publishPhase(k),
  });
  const ws = new WsEndpoint(
    { shows, counting, intake, limiter, ticker, hub, metrics, log, tokens, fanout, streams },
    {
      ...wsPolicy(cfg),
      maxConnections: cfg.MAX_CONNECTIONS,
      maxBackpressure: cfg.MAX_BACKPRESSURE,
      idleTimeoutSec: cfg.IDLE_TIMEOUT_SEC,
      hardPayloadLimit: 16 * 1024,
      ...(cfg.READER_UNACKED_BYTES > 0
        ? {
            readerFlow: {
              unackedBytes: cfg.READER_UNACKED_BYTES,
              closeAfterMs: cfg.READER_PARKED_CLOSE_MS,
              roundMs: READER_ROUND_MS,
              sliceMs: READER_SLICE_MS,
              closesPerSlice: READER_CLOSES_PER_SLICE,
            },
          }
        : {}),
    },
  );
  ws.attach(app);
  tickLoop = new TickLoop(
    counting,
    b.store,
    {
      takeAcks: () => ws.takeAcks(),
      localWatching: (show) => hub.localWatching(show),
      totals: (show, fresh, at) => {
        const deliveries = hub.totals(show, fresh, at);
        onAir?.published(show.id, show.epoch, hub.snapshot(show), at.ts);
        return deliveries;
      },
    },
    metrics,
    log,
    {
      tickMs: cfg.TICK_MS,
      publishOffsetMs: offsetMs,
      ...(quorum ? { quorum } : {}),
      budgetPct: cfg.TICK_BUDGET_PCT,
      idlePct: cfg.TICK_IDLE_PCT,
      messages: () => ticker.messages,
    },
  );
  metrics.addCollector(() => tickFamilies(tickLoop));
  const claimBoard = tickLoop.claims;
  metrics.addCollector(() => [
    {
      name: "buzzcast_once_claims_undecided",
      help: "Once claims handed to the store and not decided yet (their acks wait).",
      kind: "gauge",
      samples: [{ value: claimBoard.pending }],
    },
  ]);

  shows.onChange((show, changes, previous) => {
    const { closed, opened } = votingChanges(show, changes, previous);
    if (closed) {
      b.store.votingClosed?.(show.id, closed.epoch, [closed.act], closed.version);
      // Before the hub hears the change: its published totals are still the closing act's epoch's.
      onAir?.closed(show.id, closed.epoch, closed.act, Date.now(), hub.snapshot(show).totals[closed.act]);
    }
    if (opened) b.store.votingOpened?.(show.id, opened.epoch, [opened.act], opened.version);
    hub.showChanged(show, changes);
  });

  await shows.load();
  if (cfg.DEMO_SHOW && !shows.get(DEMO_SHOW.id)) {
    try {
      await shows.put(DEMO_SHOW.id, DEMO_SHOW);
      const first = DEMO_SHOW.acts[0];
      if (first) await shows.setStage(DEMO_SHOW.id, { act: first.id, open: true });
    } catch (err) {
      // Another process created or staged the demo show at the same moment: theirs stands.
      if (!(err instanceof ShowConflict)) throw err;
      log.info("demo show set up by another process at the same moment", { show: DEMO_SHOW.id });
    }
  }

  // Take current totals from the store before the first viewer arrives (a node joining a running show).
  await tickLoop.flushNow();

  let draining = false;
  const readiness = (): Readiness => {
    const h = b.store.health();
    // Shedding (over MAX_CONNECT_RATE) is reported, not failed: a flood that reaches every node must
    // not take every node out of the balancer. The agent check lowers the node's weight instead.
    const shedding = ws.shedding(Date.now());
    const lease = b.lease?.checks() ?? {};
    return {
      ready: !draining && h.ready && lease.lease === undefined,
      checks: { ...h.checks, ...lease, node: draining ? "draining" : shedding ? "shedding" : "ok" },
    };
  };
  const publicReads = new PublicReadGate({
    ratePerIpPerSec: cfg.PUBLIC_READ_RATE_PER_IP,
    trustedProxies: cfg.TRUSTED_PROXIES ?? [],
    persistIntervalMs: cfg.PERSIST_INTERVAL_MS,
  });
  metrics.addCollector(() => publicReads.metrics());
  const pages = new StaticFiles(cfg.STATIC_DIR);
  if (pages.size === 0) log.warn("no pages to serve", { dir: cfg.STATIC_DIR });
  const renderLocal = (): Promise<string> => renderPrometheus(metrics.exposition());
  attachHttp(app, {
    shows,
    live: (show) => hub.snapshot(show),
    store: b.store,
    metrics,
    log,
    pages,
    adminToken,
    renderMetrics: extra.renderMetrics ?? renderLocal,
    readiness: () => (extra.combineReadiness ? extra.combineReadiness(readiness()) : readiness()),
    tokens,
    audit: auditApiDeps(cfg, b.record ?? null, log, b.publicReads),
    publicReads,
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    // A fatal error during start-up closed every App of this thread: do not listen again.
    if (appsClosedForGood()) return reject(new Error("uWebSockets.js was closed during start-up"));
    app.listen(cfg.HOST, cfg.PORT, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${cfg.HOST}:${cfg.PORT}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);
  listening = true;
  ticker.start();

  const sweepTimer = setInterval(() => ws.sweep(Date.now(), cfg.HELLO_TIMEOUT_MS, cfg.SLOW_CONSUMER_SWEEPS), cfg.SWEEP_MS);
  const readerTimer = setInterval(() => ws.visitReaders(Date.now()), READER_SLICE_MS);
  let pollTimer: NodeJS.Timeout | null = null;
  let polling = false;
  if (b.showPollMs > 0) {
    pollTimer = setInterval(() => {
      if (polling) return;
      polling = true;
      b.showSource
        .poll(shows.versions())
        .then((recs) => {
          for (const r of recs) shows.applyRemote(r);
        })
        .catch((err: unknown) => log.warn("show poll failed", { err }))
        .finally(() => {
          polling = false;
        });
    }, b.showPollMs);
  }

  const drain = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    uWS.us_listen_socket_close(listenSocket);
    clearInterval(sweepTimer);
    clearInterval(readerTimer);
    if (pollTimer) clearInterval(pollTimer);
    // Everything received so far is flushed (journaled, with a journal) and acknowledged first;
    // then the closes, paced over DRAIN_SPREAD_MS: a connection that buzzed since is closed after
    // the next tick's ack (ticks go on meanwhile). Then hand the last deltas to the store and persist.
    await tickLoop.flushNow();
    await ws.drainAll(drainSpreadMs(cfg), drainAckWaitMs(cfg));
    ticker.stop();
    shows.close();
    await tickLoop.flushNow();
    await onAir?.flush();
    await b.store.close();
    await ws.whenAllClosed(1000);
    // Whatever is still open (HTTP keep-alive connections, a socket that never finished its
    // upgrade, a WebSocket whose close did not complete within 1 s) is dropped now, so that
    // nothing of uWS outlives the drain (a worker thread then ends cleanly).
    closeApp(app);
  };

  const abort = (): void => {
    draining = true;
    clearInterval(sweepTimer);
    clearInterval(readerTimer);
    if (pollTimer) clearInterval(pollTimer);
    ticker.stop();
    shows.close();
    uWS.us_listen_socket_close(listenSocket);
    ws.closeAll();
    closeApp(app);
    b.store.close().catch((err: unknown) => log.error("store close after abort failed", { err }));
  };

  return { port, metrics, shows, readiness, drain, abort };
}

/** How long a drain waits, after its last paced close, for the acks its last closes wait for. */
export function drainAckWaitMs(cfg: Pick<Config, "TICK_MS" | "DRAIN_TIMEOUT_MS">): number {
  return Math.min(Math.max(3 * cfg.TICK_MS, 500), Math.floor(cfg.DRAIN_TIMEOUT_MS / 4));
}

/**
 * PUBLISH_OFFSET_MS, or by default the longest phase 2 waits for the other units' flushes (it
 * starts earlier once they all landed): nothing in a single process (0: it reads its own flush),
 * the other worker threads' `Atomics.add` behind their timers' jitter (TICK_MS / 10), the other
 * nodes' memcached increments behind a round trip and their clocks' skew (TICK_MS / 5).
 */
export function publishOffsetMs(cfg: Config): number {
  if (cfg.PUBLISH_OFFSET_MS !== undefined) return cfg.PUBLISH_OFFSET_MS;
  if (backendMode(cfg) === "shared") return Math.round(cfg.TICK_MS / 5);
  return cfg.WORKERS > 1 ? Math.round(cfg.TICK_MS / 10) : 0;
}
