/**
 * How many WebSocket connections fit in the process's descriptor limit (RLIMIT_NOFILE).
 *
 * Every connection holds one descriptor, and so do the listen sockets, the memcached and MySQL
 * connections, plain HTTP requests, files, the event loops' own descriptors and the workers'.
 * When the table is full, `accept` fails with EMFILE and the pending connection stays in the
 * kernel's queue: it is neither refused nor served. So a node refuses WebSocket upgrades at the
 * upgrade itself (503 `server_full`, admission.ts) while it still has descriptors to spare:
 *
 *   margin = max(64, ceil(2% of the limit))   kept for everything that is not a WebSocket
 *   cap    = floor((limit - margin) / WORKERS)  WebSockets per worker thread (App)
 *
 * Worker threads share the process's one descriptor table; each takes an equal share (the kernel
 * spreads new connections evenly over the Apps on one port), so no count crosses threads. The soft
 * limit is the one that applies; no limit known (not Linux, unreadable, "unlimited"): no cap.
 */
import { readFileSync } from "node:fs";

export const MIN_MARGIN = 64;
export const MARGIN_FRACTION = 0.02;

/** The soft "Max open files" of /proc/self/limits' text; null when absent or unlimited. */
export function parseNofileLimit(limitsText: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (m === null || m[1] === undefined) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** This process's soft RLIMIT_NOFILE, or null when it cannot be read (non-Linux) or is unlimited. */
export function readNofileLimit(path = "/proc/self/limits"): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null; // no procfs (not Linux): no limit known, no cap
  }
  return parseNofileLimit(text);
}

export interface DescriptorBudget {
  /** RLIMIT_NOFILE (soft), null = unknown. */
  limit: number | null;
  /** Descriptors kept for everything but WebSockets. */
  margin: number;
  /** WebSocket connections one worker admits; Infinity with no known limit. */
  perWorker: number;
}

export function descriptorBudget(limit: number | null, workers: number): DescriptorBudget {
  if (limit === null) return { limit, margin: 0, perWorker: Infinity };
  const margin = Math.max(MIN_MARGIN, Math.ceil(limit * MARGIN_FRACTION));
  return { limit, margin, perWorker: Math.max(0, Math.floor((limit - margin) / Math.max(1, workers))) };
}
