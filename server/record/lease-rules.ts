/**
 * Input rules of node leases shared by every Record implementation (record.ts `acquireNodeLease`).
 */
import { MAX_NODE_LEN } from "./normalize.ts";
import { RecordError } from "./record.ts";

/** Longest holder id the record stores (MySQL column width). */
export const MAX_HOLDER_LEN = 128;

/** Throws RecordError "query" on an empty or too long node or holder id, or a ttl that is not a positive safe integer. */
export function checkLease(node: string, holder: string, ttlMs: number): void {
  if (typeof node !== "string" || node.length === 0 || node.length > MAX_NODE_LEN) {
    throw new RecordError("query", `node must be a string of 1-${MAX_NODE_LEN} characters`);
  }
  if (typeof holder !== "string" || holder.length === 0 || holder.length > MAX_HOLDER_LEN) {
    throw new RecordError("query", `holder must be a string of 1-${MAX_HOLDER_LEN} characters`);
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RecordError("query", `ttlMs must be a positive safe integer, got ${String(ttlMs)}`);
}
