/**
 * Serialization of the frames sent to one connection. The ack is the one sent often (up to one
 * per buzzing connection per tick), so the `Ack` is built from a template by string concatenation rather
 * than JSON.stringify of an object per ack; frames.test.ts checks it equals JSON.stringify of the
 * same `Ack`, byte for byte, key order included.
 */
import type { RejectReason } from "../../shared/codes.ts";
import type { ErrorFrame } from "../../shared/protocol.ts";

/** What an ack reports; a connection's own cumulative counters (transport's Conn satisfies it). */
export interface AckState {
  readonly lastSeq: number;
  readonly counted: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  readonly last: "counted" | RejectReason;
}

/**
 * `JSON.stringify({type:"ack", seq, counted, rejected, last})`. Safe without escaping: seq and
 * counts are non-negative integers (their JSON is their decimal string), reasons and `last` are
 * fixed ASCII names, and `rejected` is walked in insertion order, as JSON.stringify walks it.
 */
export function ackFrame(a: AckState): string {
  let rejected = "{";
  let first = true;
  for (const reason in a.rejected) {
    rejected += (first ? '"' : ',"') + reason + '":' + a.rejected[reason as RejectReason];
    first = false;
  }
  return '{"type":"ack","seq":' + a.lastSeq + ',"counted":' + a.counted + ',"rejected":' + rejected + '},"last":"' + a.last + '"}';
}

export function errorFrame(code: ErrorFrame["code"], message: string, retryAfterMs?: number): string {
  const f: ErrorFrame = retryAfterMs === undefined ? { type: "error", code, message } : { type: "error", code, message, retryAfterMs };
  return JSON.stringify(f);
}
