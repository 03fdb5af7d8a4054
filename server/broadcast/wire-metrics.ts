/**
 * Metrics by wire protocol (v1 JSON, v2 binary), registered as one collector on the process
 * Metrics. Hot-path updates are one array element or property increment; nothing is allocated.
 *  - connections by protocol (gauge; transport increments on open, decrements on close);
 *  - frames and bytes published by protocol (each publish counted once, whatever the audience),
 *    and bytes delivered (published bytes x subscribers of the topic at publish time: the payload
 *    egress, without WebSocket headers, before uWS drops frames for backpressured subscribers);
 *  - v2 frames refused by the decoder, by reason (plus `text_frame`: a text frame on v2);
 *  - v2 encode failures (a server bug: each one is also logged).
 */
import { V2_DECODE_REASONS } from "../../shared/v2/index.ts";
import type { Family, Metrics } from "../ops/metrics.ts";

/** The wire protocol of a connection: 1 = JSON text frames, 2 = binary (subprotocol buzzcast.v2). */
export type WireProtocol = 1 | 2;

/** Refusals of v2 input: every decoder reason, and a text frame on a v2 connection. */
export const V2_REFUSALS = [...V2_DECODE_REASONS, "text_frame"] as const;
export type V2Refusal = (typeof V2_REFUSALS)[number];

const PROTOCOLS: readonly WireProtocol[] = [1, 2];

export class WireMetrics {
  readonly connections: Record<WireProtocol, number> = { 1: 0, 2: 0 };
  readonly framesPublished: Record<WireProtocol, number> = { 1: 0, 2: 0 };
  readonly bytesPublished: Record<WireProtocol, number> = { 1: 0, 2: 0 };
  readonly bytesDelivered: Record<WireProtocol, number> = { 1: 0, 2: 0 };
  readonly v2Refused = Object.fromEntries(V2_REFUSALS.map((r) => [r, 0])) as Record<V2Refusal, number>;
  v2EncodeErrors = 0;

  constructor(metrics: Metrics) {
    metrics.addCollector(() => this.families());
  }

  /** One frame of `bytes` published to a topic with `subscribers` subscribers. */
  published(protocol: WireProtocol, bytes: number, subscribers: number): void {
    this.framesPublished[protocol]++;
    this.bytesPublished[protocol] += bytes;
    this.bytesDelivered[protocol] += bytes * subscribers;
  }

  private families(): Family[] {
    const byProtocol = (values: Record<WireProtocol, number>) =>
      PROTOCOLS.map((p) => ({ labels: { protocol: `v${p}` }, value: values[p] }));
    return [
      {
        name: "buzzcast_connections_by_protocol",
        help: "Open WebSocket connections by wire protocol (v1 JSON, v2 binary).",
        kind: "gauge",
        samples: byProtocol(this.connections),
      },
      {
        name: "buzzcast_protocol_frames_published_total",
        help: "Frames published to show topics (totals, stage, show), by wire protocol; each reaches every subscriber.",
        kind: "counter",
        samples: byProtocol(this.framesPublished),
      },
      {
        name: "buzzcast_protocol_bytes_published_total",
        help: "Payload bytes of the frames published to show topics, by wire protocol (each frame once).",
        kind: "counter",
        samples: byProtocol(this.bytesPublished),
      },
      {
        name: "buzzcast_protocol_bytes_delivered_total",
        help: "Published payload bytes times the topic's subscribers at publish time, by wire protocol (no WebSocket headers).",
        kind: "counter",
        samples: byProtocol(this.bytesDelivered),
      },
      {
        name: "buzzcast_v2_decode_errors_total",
        help: "v2 frames refused (error frame bad_frame, close 4000), by reason.",
        kind: "counter",
        samples: V2_REFUSALS.map((reason) => ({ labels: { reason }, value: this.v2Refused[reason] })),
      },
      {
        name: "buzzcast_v2_encode_errors_total",
        help: "v2 frames the server failed to encode (a server bug; logged; a keyframe follows).",
        kind: "counter",
        samples: [{ value: this.v2EncodeErrors }],
      },
    ];
  }
}
