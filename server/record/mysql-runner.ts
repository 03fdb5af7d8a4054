/**
 * Runs units of work on a mysql2 pool with bounded time and bounded retries.
 *
 * Guarantees:
 * - No call hangs: waiting for a connection (new or pooled) is bounded by connectTimeoutMs and
 *   every statement by queryTimeoutMs. A statement that timed out or lost its connection has its
 *   connection destroyed (the server rolls back its open transaction, unless the COMMIT had
 *   already arrived: callers make every unit idempotent for that case).
 * - A unit is retried (up to maxAttempts in all) only for what classify() marks retryable:
 *   deadlocks, lock wait timeouts, a pooled connection found dead. Each retry is counted.
 * - A server-side error rolls back the unit's transaction and keeps the connection; anything
 *   else destroys it. Errors leave as RecordError.
 */
import { createPool, type Pool, type PoolConnection } from "mysql2/promise";
import { classify, isServerError, toRecordError } from "./mysql-errors.ts";
import { connectionOptions, hardDestroy, type MysqlTarget } from "./mysql-target.ts";
import { RecordError } from "./record.ts";

export interface RunnerOptions {
  poolSize: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  maxAttempts: number;
}

/** Retries that happened (successful or not); MysqlRecord.metrics() exports them. */
export interface RetryCounters {
  /** Deadlocks (1213) and lock wait timeouts (1205) retried. */
  lockRetries: number;
  /** Units retried because a pooled connection was found dead (reset / lost). */
  connectionRetries: number;
}

/** Statement parameters: everything we bind is a string, a number or NULL. */
export type Param = string | number | null;
export type Query = <T = unknown>(sql: string, values?: Param[]) => Promise<T>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MysqlRunner {
  readonly counters: RetryCounters = { lockRetries: 0, connectionRetries: 0 };
  private readonly pool: Pool;
  /** Open core connections, to destroy them if a graceful close hangs. */
  private readonly live = new Set<unknown>();
  private closed = false;

  constructor(
    target: MysqlTarget,
    private readonly opts: RunnerOptions,
  ) {
    this.pool = createPool({
      ...connectionOptions(target, opts.connectTimeoutMs, true),
      connectionLimit: opts.poolSize,
      maxIdle: opts.poolSize,
      idleTimeout: 60_000,
      waitForConnections: true,
    });
    // InnoDB lock waits end (1205, retried) well before the statement timeout would cut the
    // connection, so a blocked transaction releases its own locks promptly.
    const lockWaitSec = Math.max(1, Math.floor(opts.queryTimeoutMs / 2000));
    this.pool.pool.on("connection", (core) => {
      this.live.add(core);
      core.once("end", () => this.live.delete(core));
      core.once("error", () => this.live.delete(core));
      // Queued before the caller's first statement. If it fails the connection is dropped, so
      // the caller's statement fails as "connection lost" and is retried on another one.
      core.query({ sql: "SET SESSION innodb_lock_wait_timeout = ?", values: [lockWaitSec], timeout: opts.queryTimeoutMs }, (err) => {
        if (err) hardDestroy(core);
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `fn` on one connection, inside a transaction when `tx`, retrying what is retryable. */
  async run<T>(op: string, tx: boolean, fn: (q: Query) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let conn: PoolConnection | null = null;
      try {
        conn = await this.acquire();
        const c = conn;
        const q: Query = async <R>(sql: string, values?: Param[]) =>
          (await c.query({ sql, values, timeout: this.opts.queryTimeoutMs }))[0] as R;
        if (tx) await q("START TRANSACTION");
        const out = await fn(q);
        if (tx) await q("COMMIT");
        conn.release();
        conn = null;
        return out;
      } catch (err) {
        if (conn) await this.discard(conn, err, tx);
        const { retry } = classify(err);
        if (retry !== null && attempt < this.opts.maxAttempts && !this.closed) {
          if (retry === "deadlock") this.counters.lockRetries++;
          else this.counters.connectionRetries++;
          await sleep(5 * attempt + Math.floor(Math.random() * 10 * attempt));
          continue;
        }
        throw toRecordError(op, err, attempt);
      }
    }
  }

  /** Ends the pool; sockets still open after connectTimeoutMs (server hung) are destroyed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const ended = this.pool.end().then(
      () => true,
      () => false, // the fallback below destroys whatever is left either way
    );
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), this.opts.connectTimeoutMs)));
    const inTime = await Promise.race([ended, timeout]);
    clearTimeout(timer);
    if (!inTime) for (const core of this.live) hardDestroy(core);
    this.live.clear();
  }

  /** A pooled connection within connectTimeoutMs; one that arrives later is handed back. */
  private async acquire(): Promise<PoolConnection> {
    if (this.closed) throw new RecordError("unreachable", "record is closed");
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const pending = this.pool.getConnection();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        reject(new RecordError("unreachable", `no database connection within ${this.opts.connectTimeoutMs} ms`));
      }, this.opts.connectTimeoutMs);
    });
    try {
      return await Promise.race([pending, deadline]);
    } catch (err) {
      // The timeout was reported; a connection that still arrives goes back to the pool, and a
      // failure that still arrives is the same outage, already reported.
      if (late)
        pending.then(
          (c) => c.release(),
          () => undefined,
        );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** After a failure: roll back and reuse a connection the server answered on, else destroy it. */
  private async discard(conn: PoolConnection, err: unknown, tx: boolean): Promise<void> {
    if (isServerError(err) || err instanceof RecordError) {
      try {
        if (tx) await conn.query({ sql: "ROLLBACK", timeout: this.opts.queryTimeoutMs });
        conn.release();
        return;
      } catch {
        // The connection is unusable: destroyed below; the original error is the one reported.
      }
    }
    hardDestroy(conn.connection);
  }
}
