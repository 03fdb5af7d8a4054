/**
 * The hub's Publisher with a byte count per topic: how many bytes have been published to each
 * topic so far. Every subscriber of a topic gets the same frames, so the bytes a connection was
 * sent from its topic between two moments are the difference of its topic's count (reader-flow.ts
 * uses this to know what a reader has not acknowledged, with no work per subscriber).
 *
 * Guarantees:
 *  - One counter update per published frame (not per subscriber); the frame goes on to the wrapped
 *    publisher unchanged, in the same call.
 *  - A topic's count only grows (it counts payload bytes, WebSocket headers not included).
 */
import type { Publisher } from "../broadcast/hub.ts";

/** Bytes published to one topic so far. */
export interface TopicStream {
  readonly topic: string;
  bytes: number;
}

export class TopicStreams implements Publisher {
  private readonly streams = new Map<string, TopicStream>();

  constructor(private readonly inner: Publisher) {}

  publish(topic: string, frame: string | Uint8Array, binary: boolean): void {
    this.of(topic).bytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
    this.inner.publish(topic, frame, binary);
  }

  subscribers(topic: string): number {
    return this.inner.subscribers(topic);
  }

  /** The stream of a topic (created at zero on first use; topics are per show and protocol, few). */
  of(topic: string): TopicStream {
    let s = this.streams.get(topic);
    if (s === undefined) this.streams.set(topic, (s = { topic, bytes: 0 }));
    return s;
  }
}
