/**
 * Every frame the server sends goes out here (the model is centrifuge's hub): per show, the topic
 * and the published state (totals that never decrease within an epoch, the frame seq, the time of
 * the last totals frame, the cached welcome); to one connection, welcome, ack and error.
 *
 * Guarantees:
 *  - A totals frame is serialized once per show per tick and published to the show's topic; uWS
 *    copies the same bytes to every subscriber (nothing here runs per subscriber).
 *  - Published totals never decrease within an epoch: each act's value is max(published, store),
 *    kept for every act seen this epoch, so an act removed and added back resumes where it was.
 *    Acts not in the current definition are not published (removed from the next frame on).
 *  - At least one totals frame per show in every `heartbeatMs` window while ticks run on time:
 *    a show with no change publishes as soon as the next tick (tickMs later, with up to tickMs/2
 *    of jitter) could fall outside the window.
 *  - `seq` grows by one per totals frame per show, across epochs.
 *  - A welcome is serialized once per (seq, stage, definition) and shared by every hello until
 *    one of them changes.
 *  - Direct sends are corked (one syscall per connection per call, also from timers and promise
 *    callbacks); nested in an already corked socket (a uWS callback) they simply send. Published
 *    frames are corked per subscriber by uWS itself (this App build has no App-level cork).
 */
import type { WebSocket } from "uWebSockets.js";
import { CLOSE, type CloseName } from "../../shared/codes.ts";
import { PROTOCOL_VERSION, type ShowFrame, type StageFrame, type Totals, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Show, ShowChange } from "../shows/show.ts";
import { ackFrame, errorFrame, type AckState } from "./frames.ts";

/** Sends one serialized frame to every subscriber of a topic (app.publish). */
export type Publish = (topic: string, frame: string) => void;

export interface HubOptions {
  tickMs: number;
  /** Longest gap between two totals frames of a show. */
  heartbeatMs: number;
  policy: "once" | "unlimited";
}

/** What a viewer sees of a show right now (the HTTP state, and the welcome). */
export interface LiveTotals {
  readonly seq: number;
  readonly totals: Readonly<Totals>;
}

interface Live {
  seq: number;
  /** Published totals: the acts of the current definition. */
  totals: Totals;
  /** Every act seen this epoch (including removed ones) -> highest total published or known. */
  best: Map<string, number>;
  lastPublishAt: number;
  /** A totals frame is due at the next tick whatever the store says (reset, definition edit). */
  due: boolean;
  welcome: string | null;
}

// The socket's user data is transport's business; the hub only sends.
type Ws = WebSocket<unknown>;

export class Hub {
  private readonly live = new Map<string, Live>();
  /** Publish when this much has passed since the last totals frame (see the heartbeat guarantee). */
  private readonly heartbeatDueMs: number;
  // Argument slots for `sendCorked`, so a corked send allocates no closure.
  private corkWs: Ws | null = null;
  private corkFrame = "";
  private readonly corkedSend = (): void => this.send(this.corkWs!, this.corkFrame);

  constructor(
    private readonly publish: Publish,
    private readonly metrics: Metrics,
    private readonly opts: HubOptions,
  ) {
    this.heartbeatDueMs = Math.max(0, opts.heartbeatMs - opts.tickMs * 1.5);
  }

  // ------------------------------------------------------------------ topics

  /** The registry changed a show (or announced a new one): frames for its viewers. */
  showChanged(show: Show, changes: ReadonlySet<ShowChange>): void {
    let l = this.live.get(show.id);
    if (!l) {
      l = { seq: 0, totals: {}, best: new Map(), lastPublishAt: 0, due: false, welcome: null };
      this.live.set(show.id, l);
    }
    if (changes.has("epoch")) l.best.clear();
    if (changes.has("epoch") || changes.has("show")) {
      l.totals = {};
      for (const a of show.info.acts) l.totals[a.id] = l.best.get(a.id) ?? 0;
      l.due = true;
    }
    l.welcome = null;
    if (changes.has("show") || changes.has("epoch")) {
      const f: ShowFrame = { type: "show", show: show.info, epoch: show.epoch };
      this.publish(show.topic, JSON.stringify(f));
    }
    if (changes.has("stage")) {
      const f: StageFrame = { type: "stage", act: show.stage.act, open: show.stage.open };
      this.publish(show.topic, JSON.stringify(f));
    }
  }

  /**
   * One tick's totals from the store for the show's current epoch (undefined: none this tick).
   * Publishes a totals frame when a total rose, a frame is due, or the heartbeat window demands.
   */
  totals(show: Show, fresh: ReadonlyMap<string, number> | undefined, nowMs: number): void {
    const l = this.live.get(show.id);
    if (!l) return;
    let changed = l.due;
    if (fresh) {
      for (const [act, v] of fresh) {
        if (v <= (l.best.get(act) ?? 0)) continue;
        l.best.set(act, v);
        if (show.hasAct(act)) {
          l.totals[act] = v;
          changed = true;
        }
      }
    }
    if (!changed && nowMs - l.lastPublishAt < this.heartbeatDueMs) return;
    l.seq++;
    l.lastPublishAt = nowMs;
    l.due = false;
    l.welcome = null;
    const frame: TotalsFrame = { type: "totals", show: show.id, epoch: show.epoch, seq: l.seq, ts: nowMs, totals: l.totals };
    this.publish(show.topic, JSON.stringify(frame));
    this.metrics.framesPublished++;
  }

  /** Seq and totals as last published (zero totals for a show not announced yet). */
  snapshot(show: Show): LiveTotals {
    const l = this.live.get(show.id);
    return l ?? { seq: 0, totals: Object.fromEntries(show.info.acts.map((a) => [a.id, 0])) };
  }

  // ------------------------------------------------------------------ one connection

  /** Subscribe first, then send the snapshot: every later totals frame reaches this socket. */
  join(ws: Ws, show: Show): void {
    ws.subscribe(show.topic);
    const l = this.live.get(show.id);
    const frame = l ? (l.welcome ??= this.welcome(show, l)) : this.welcome(show, this.snapshot(show));
    this.sendCorked(ws, frame);
  }

  /** The connection's cumulative ack. */
  ack(ws: Ws, a: AckState): void {
    this.sendCorked(ws, ackFrame(a));
  }

  /** Error frame, then close with the table's code, in one corked write. */
  close(ws: Ws, name: CloseName, message: string): void {
    const frame = errorFrame(name, message);
    ws.cork(() => {
      ws.send(frame, false, false);
      ws.end(CLOSE[name].code, name);
    });
  }

  private welcome(show: Show, l: LiveTotals): string {
    const w: Welcome = {
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      show: show.info,
      stage: show.stage,
      tickMs: this.opts.tickMs,
      epoch: show.epoch,
      seq: l.seq,
      totals: l.totals,
      policy: this.opts.policy,
    };
    return JSON.stringify(w);
  }

  private sendCorked(ws: Ws, frame: string): void {
    this.corkWs = ws;
    this.corkFrame = frame;
    ws.cork(this.corkedSend);
    this.corkWs = null;
    this.corkFrame = "";
  }

  private send(ws: Ws, frame: string): void {
    const r = ws.send(frame, false, false);
    if (r === 2) this.metrics.sendDropped++;
    else if (r === 0) this.metrics.sendBackpressured++;
  }
}
