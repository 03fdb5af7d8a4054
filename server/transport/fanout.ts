/**
 * The hub's Publisher (broadcast/hub.ts) over the App's pub/sub, with one exception that keeps
 * frames on time under an ingest flood.
 *
 * uWebSockets.js delivers a published frame when its topic tree drains: at the start and at the end
 * of an event-loop iteration. One iteration reads every ready socket once (up to 512 KB each), so
 * under a flood (hundreds of sockets with full receive buffers) an iteration lasts seconds, and the
 * tick, which then fires from the message path inside it (counting/ticker.ts), published frames
 * that waited for the iteration's end: observers saw totals 17 ticks late (measured).
 *
 * Guarantees:
 *  - A frame published while a message callback runs (`inMessagePath`) is sent at once to every
 *    subscriber of its topic with ws.send of the same serialized bytes (nothing serialized per
 *    subscriber; one native call per subscriber). Frames to one subscriber stay in order: uWS
 *    flushes a socket's pending published frames before a direct send to it.
 *  - Anywhere else (timers, HTTP handlers, promise callbacks) it is app.publish: uWS's own loop.
 *  - The member lists mirror uWS's subscriptions: taken from ws.getTopics() after the hub's join,
 *    dropped in the close handler (uWS unsubscribes a closed socket itself).
 */
import type { Family } from "../ops/metrics.ts";
import type { Conn } from "./connection.ts";
import type { TemplatedApp, WebSocket } from "./uws.ts";

export class Fanout {
  /** Set by the endpoint while a uWS message callback runs (around the ticker's due-check). */
  inMessagePath = false;
  /** Frames sent directly (each to every member of its topic), and sends dropped over maxBackpressure. */
  directFrames = 0;
  directDropped = 0;
  private readonly members = new Map<string, Set<WebSocket<Conn>>>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly live: () => boolean,
  ) {}

  publish(topic: string, frame: string | Uint8Array, binary: boolean): void {
    if (!this.live()) return;
    if (!this.inMessagePath) {
      this.app.publish(topic, frame, binary, false);
      return;
    }
    const set = this.members.get(topic);
    if (set === undefined) return;
    this.directFrames++;
    for (const ws of set) if (ws.send(frame, binary, false) === 2) this.directDropped++;
  }

  subscribers(topic: string): number {
    return this.live() ? this.app.numSubscribers(topic) : 0;
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_frames_sent_direct_total",
        help: "Frames published from the message path (a tick inside uWS's loop iteration), sent to each subscriber at once.",
        kind: "counter",
        samples: [{ value: this.directFrames }],
      },
      {
        name: "buzzcast_direct_sends_dropped_total",
        help: "Direct sends dropped because the subscriber was over MAX_BACKPRESSURE.",
        kind: "counter",
        samples: [{ value: this.directDropped }],
      },
    ];
  }

  /** After the hub subscribed `ws`: record its topics (kept on the Conn for the close). */
  joined(ws: WebSocket<Conn>, c: Conn): void {
    const topics = ws.getTopics();
    c.topics = topics;
    for (const t of topics) {
      let set = this.members.get(t);
      if (set === undefined) this.members.set(t, (set = new Set()));
      set.add(ws);
    }
  }

  /** From the close handler. */
  left(ws: WebSocket<Conn>, c: Conn): void {
    for (const t of c.topics) {
      const set = this.members.get(t);
      if (set === undefined) continue;
      set.delete(ws);
      if (set.size === 0) this.members.delete(t);
    }
    c.topics = NO_TOPICS;
  }
}

export const NO_TOPICS: readonly string[] = [];
