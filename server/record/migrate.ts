/**
 * Applies server/record/migrations/NNN_name.sql in version order, each at most once per database.
 *
 * Guarantees:
 * - Creates the database named in MYSQL_URL when it does not exist (only then: a user without
 *   CREATE privilege works against an existing database).
 * - Several nodes starting at once are serialized by GET_LOCK on a per-database lock name; the
 *   lock is per session, so a node that dies mid-migration releases it with its connection.
 * - A migration is recorded in schema_migrations after its statements ran. MariaDB commits DDL
 *   implicitly, so migrations are written to be re-runnable (IF NOT EXISTS) in case a node dies
 *   between the two.
 * - An applied migration whose file changed since is refused (RecordError "schema"): applied
 *   migrations are immutable; add a new file instead.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createConnection, type Connection, type RowDataPacket } from "mysql2/promise";
import { classify, toRecordError } from "./mysql-errors.ts";
import { connectionOptions, hardDestroy, type MysqlTarget } from "./mysql-target.ts";
import { RecordError } from "./record.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** How long to wait for another node's migration to finish (seconds). Default 60. */
  lockWaitSec?: number;
  /** Create the database when missing. Default true. */
  createDatabase?: boolean;
  /** Folder of the .sql files. Default: ./migrations beside this file. */
  dir?: URL;
}

/** The callback-style connection inside a promise wrapper (mysql2 keeps it as `.connection`). */
const coreOf = (c: Connection): unknown => (c as unknown as { connection: unknown }).connection;

const FILE = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;
const DEFAULT_DIR = new URL("./migrations/", import.meta.url);

export async function loadMigrations(dir: URL = DEFAULT_DIR): Promise<Migration[]> {
  const out: Migration[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const m = FILE.exec(file);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    const sql = await readFile(new URL(file, dir), "utf8");
    out.push({ version: Number(m[1]), name: m[2], sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]?.version === out[i - 1]?.version) {
      throw new RecordError("schema", `two migrations with version ${String(out[i]?.version)}`);
    }
  }
  return out;
}

async function connect(target: MysqlTarget, opts: MigrateOptions): Promise<Connection> {
  const options = { ...connectionOptions(target, opts.connectTimeoutMs, true), multipleStatements: true };
  try {
    return await createConnection(options);
  } catch (err) {
    if ((err as { errno?: number }).errno !== 1049 /* ER_BAD_DB_ERROR */ || opts.createDatabase === false) throw err;
  }
  const bare = await createConnection(connectionOptions(target, opts.connectTimeoutMs, false));
  try {
    await bare.query({
      sql: `CREATE DATABASE IF NOT EXISTS ${bare.escapeId(target.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      timeout: opts.queryTimeoutMs,
    });
  } finally {
    hardDestroy(coreOf(bare));
  }
  return await createConnection(options);
}

/** Brings the database up to the newest migration. Resolves with the versions it applied. */
export async function migrate(target: MysqlTarget, opts: MigrateOptions): Promise<number[]> {
  const migrations = await loadMigrations(opts.dir);
  const lockWaitSec = opts.lockWaitSec ?? 60;
  const timeout = opts.queryTimeoutMs;
  let conn: Connection | null = null;
  try {
    conn = await connect(target, opts);
    const c = conn;
    const q = async <T>(sql: string, values?: unknown[], ms = timeout): Promise<T> => (await c.query({ sql, values, timeout: ms }))[0] as T;

    const lockName = `buzzcast.migrate.${target.database}`;
    const [got] = await q<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS ok", [lockName, lockWaitSec], lockWaitSec * 1000 + timeout);
    if (Number(got?.ok) !== 1) {
      throw new RecordError("schema", `another node held the migration lock for more than ${lockWaitSec} s`);
    }
    try {
      await q(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL,
        applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
      const done = new Map<number, string>();
      for (const r of await q<RowDataPacket[]>("SELECT version, checksum FROM schema_migrations")) {
        done.set(Number(r.version), String(r.checksum));
      }
      const applied: number[] = [];
      for (const m of migrations) {
        const sum = done.get(m.version);
        if (sum !== undefined) {
          if (sum !== m.checksum) {
            throw new RecordError("schema", `migration ${m.version}_${m.name} changed after it was applied`);
          }
          continue;
        }
        await q(m.sql);
        await q("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))", [
          m.version,
          m.name,
          m.checksum,
        ]);
        applied.push(m.version);
      }
      return applied;
    } finally {
      // Released explicitly for the next node; also released by the server when we disconnect.
      await q("DO RELEASE_LOCK(?)", [lockName]).catch((err: unknown) => {
        if (classify(err).code !== "unreachable") throw err;
      });
    }
  } catch (err) {
    throw toRecordError("migrate", err, 1);
  } finally {
    if (conn) hardDestroy(coreOf(conn));
  }
}
