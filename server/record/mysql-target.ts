/**
 * MYSQL_URL parsing (mysql://user:pass@host:port/database) into connection options for mysql2,
 * and the options every connection of ours shares. User, password and database are URL-decoded.
 */
import type { ConnectionOptions } from "mysql2/promise";
import { RecordError } from "./record.ts";

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Name of the database holding our tables (created by migrate() when missing). */
  database: string;
}

const DB_NAME = /^[A-Za-z0-9_$]{1,64}$/;

export function parseMysqlUrl(url: string): MysqlTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new RecordError("unreachable", "MYSQL_URL is not a URL", { cause });
  }
  if (u.protocol !== "mysql:" && u.protocol !== "mariadb:") {
    throw new RecordError("unreachable", `MYSQL_URL must start with mysql://, got ${u.protocol}//`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!DB_NAME.test(database)) {
    throw new RecordError("unreachable", "MYSQL_URL must name a database of 1-64 of A-Z a-z 0-9 _ $");
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: u.port === "" ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
  };
}

/**
 * Options shared by the pool and the migration connection. BIGINT columns come back as JS
 * numbers (strings only beyond 2^53, which callers convert with Number()); DATETIME columns are
 * written as UTC_TIMESTAMP() and read as UTC.
 */
export function connectionOptions(t: MysqlTarget, connectTimeoutMs: number, withDatabase: boolean): ConnectionOptions {
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    ...(withDatabase ? { database: t.database } : {}),
    connectTimeout: connectTimeoutMs,
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    bigNumberStrings: false,
    timezone: "Z",
    enableKeepAlive: true,
  };
}

/** Forcibly closes a connection's socket (mysql2's destroy() only half-closes it). */
export function hardDestroy(conn: unknown): void {
  const c = conn as { destroy?: () => void; stream?: { destroy?: () => void } } | null;
  c?.destroy?.();
  c?.stream?.destroy?.();
}
