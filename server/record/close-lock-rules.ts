/**
 * Input rules of a close's reconciliation lock (Record.lockClose), shared by every Record
 * implementation so they accept and reject exactly the same calls. Pure; touches no storage.
 */
import { MAX_EPOCH_LEN, MAX_KEY_LEN } from "./normalize.ts";
import { RecordError } from "./record.ts";

/** Longest lock token the record stores (a process key: node id, a dot, random hex). */
export const MAX_CLOSE_LOCK_TOKEN_LEN = 160;

export function checkCloseLock(show: string, epoch: string, version: number, token: string): void {
  for (const [name, v, max] of [
    ["show", show, MAX_KEY_LEN],
    ["epoch", epoch, MAX_EPOCH_LEN],
    ["token", token, MAX_CLOSE_LOCK_TOKEN_LEN],
  ] as const) {
    if (typeof v !== "string" || v.length === 0 || v.length > max)
      throw new RecordError("query", `${name} must be a string of 1-${max} characters`);
  }
  if (!Number.isSafeInteger(version) || version < 0)
    throw new RecordError("query", `version must be a non-negative safe integer, got ${String(version)}`);
}
