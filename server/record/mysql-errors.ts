/**
 * Maps mysql2 / MariaDB errors to RecordError codes and decides which may be retried.
 * Retried: deadlock (1213) and lock wait timeout (1205), whose transaction is rolled back, and a
 * connection found dead when used (reset / lost), which means nothing was committed on it unless
 * it was the COMMIT itself, and every operation of ours is idempotent. Never retried: timeouts
 * and refused connections (the record is down or hung: fail fast, the caller keeps its deltas).
 */
import { RecordError, type RecordErrorCode } from "./record.ts";

export type RetryKind = "deadlock" | "connection" | null;

export interface Classified {
  code: RecordErrorCode;
  retry: RetryKind;
}

interface DriverError {
  errno?: number;
  code?: string;
  sqlState?: string;
  fatal?: boolean;
  message?: string;
}

const LOCK_ERRNOS = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);
const SCHEMA_ERRNOS = new Set([
  1049 /* ER_BAD_DB_ERROR */, 1146 /* ER_NO_SUCH_TABLE */, 1054 /* ER_BAD_FIELD_ERROR */, 1364 /* ER_NO_DEFAULT_FOR_FIELD */,
  1406 /* ER_DATA_TOO_LONG */,
]);
const UNREACHABLE_ERRNOS = new Set([
  1040 /* too many connections */, 1044 /* db access denied */, 1045 /* access denied */, 1129 /* host blocked */,
  1130 /* host not allowed */, 1927 /* connection killed */, 2002, 2003, 2006, 2013 /* client: cannot connect / gone away / lost */,
]);
const LOST_CODES = new Set(["ECONNRESET", "EPIPE", "PROTOCOL_CONNECTION_LOST", "ER_CONNECTION_KILLED"]);
const DOWN_CODES = new Set([
  "ETIMEDOUT",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

export function classify(err: unknown): Classified {
  if (err instanceof RecordError) return { code: err.code, retry: null };
  const e = (err ?? {}) as DriverError;
  if (typeof e.errno === "number" && LOCK_ERRNOS.has(e.errno)) return { code: "deadlock", retry: "deadlock" };
  if (e.code !== undefined && LOST_CODES.has(e.code)) return { code: "unreachable", retry: "connection" };
  if (e.message !== undefined && /closed state/.test(e.message)) return { code: "unreachable", retry: "connection" };
  if (e.code !== undefined && DOWN_CODES.has(e.code)) return { code: "unreachable", retry: null };
  if (typeof e.errno === "number" && UNREACHABLE_ERRNOS.has(e.errno)) return { code: "unreachable", retry: null };
  if (typeof e.errno === "number" && SCHEMA_ERRNOS.has(e.errno)) return { code: "schema", retry: null };
  if (e.fatal === true || e.message === "Pool is closed.") return { code: "unreachable", retry: null };
  return { code: "query", retry: null };
}

/** True when the server answered with an SQL error: the connection itself is still usable. */
export function isServerError(err: unknown): boolean {
  const e = (err ?? {}) as DriverError;
  return typeof e.sqlState === "string" && e.fatal !== true;
}

export function toRecordError(op: string, err: unknown, attempts: number): RecordError {
  if (err instanceof RecordError) return err;
  const c = classify(err);
  const e = (err ?? {}) as DriverError;
  const detail = [e.code, e.errno].filter((x) => x !== undefined).join("/");
  const msg = e.message ?? String(err);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new RecordError(c.code, `${op} failed${tries}: ${detail ? `${detail} ` : ""}${msg}`, { cause: err });
}
