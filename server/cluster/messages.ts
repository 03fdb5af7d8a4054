/**
 * Messages between the supervisor (main thread) and its worker threads. Structured-clone only.
 */
import type { MetricsSnapshot } from "../ops/metrics.ts";
import type { ShowRecord } from "../record/record.ts";
import type { SlotKey } from "../store/atomic-store.ts";
import type { ClaimKey } from "../store/claim-book.ts";
import type { CacheOp, CacheReply } from "./thread-cache.ts";

/** What a worker is given at start. */
export interface WorkerData {
  index: number;
  adminToken: string;
  /** Environment to parse the config from (the supervisor's, plus per-worker NODE_ID). */
  env: Record<string, string>;
  /** Embedded mode: counters shared by every worker (BigInt64Array over it). */
  counters: SharedArrayBuffer | null;
  /**
   * The start gate, one Int32 decided once by compare-and-swap: the worker moves it from OPEN to
   * APP before it makes its uWS App; the supervisor, draining, moves it from OPEN to TERMINATED and
   * then terminates the thread. A thread is terminated only while it holds no uWS socket (which
   * would abort the process); once it has an App it is drained instead.
   */
  gate: SharedArrayBuffer;
  /** MySQL without memcached: live totals go through the supervisor's cache (thread-cache.ts). */
  nodeCache: boolean;
}

export const GATE_OPEN = 0;
export const GATE_APP = 1;
export const GATE_TERMINATED = 2;

export type ToSupervisor =
  | { type: "ready"; port: number }
  | { type: "health"; ready: boolean; checks: Record<string, string> }
  | { type: "metrics-request"; id: number }
  | { type: "metrics-snapshot"; id: number; snapshot: MetricsSnapshot }
  /** A compare-and-swap: store `rec` only if the supervisor's copy is at version `base` (null: no show). */
  | { type: "show-save"; id: number; rec: ShowRecord; base: number | null }
  | { type: "show-load-all"; id: number }
  | { type: "slot-request"; id: number; key: SlotKey }
  /** This tick's new `once` claims, all at once (store/claim-book.ts decides them). */
  | { type: "claim-request"; id: number; claims: ClaimKey[] }
  /** After this worker's last add to these keys (retired epoch, removed act, store closed). */
  | { type: "slot-release"; keys: SlotKey[] }
  /** This worker's viewers per show, when they changed (store/audience-book.ts). */
  | { type: "audience"; counts: Array<[string, number]> }
  /** One operation on the supervisor's cache (MySQL without memcached). */
  | { type: "cache"; id: number; req: CacheOp }
  /** Embedded mode: this worker's flush of the tick is in the shared counters (flush-relay.ts). */
  | { type: "flushed"; tick: number };

export type ToWorker =
  | { type: "metrics-snapshot-request"; id: number }
  | { type: "metrics-text"; id: number; text: string }
  /** `ok` false: refused, `current` is the supervisor's copy (absent: no such show); nothing was relayed. */
  | { type: "show-saved"; id: number; ok: boolean; current?: ShowRecord; error?: string }
  | { type: "show-all"; id: number; recs: ShowRecord[] }
  | { type: "show"; rec: ShowRecord }
  | { type: "slot"; id: number; slot: number; error?: string }
  /** One answer per claim of the request, in order: true = counted, false = duplicate. */
  | { type: "claims"; id: number; counted: boolean[]; error?: string }
  | { type: "node-health"; ready: boolean; checks: Record<string, string> }
  /** The node's viewers per show, summed over the live workers, when the sums changed. */
  | { type: "audience"; sums: Array<[string, number]> }
  /** Drain now, or as soon as the node is up if it is still starting. */
  | { type: "cache-reply"; id: number; reply: CacheReply }
  | { type: "drain" }
  /** The node's drain timed out: drop every connection now and end the thread. */
  | { type: "abort" }
  | { type: "crash" }
  /** Embedded mode: every ready worker flushed the tick; phase 2 may start (flush-relay.ts). */
  | { type: "all-flushed"; tick: number };
