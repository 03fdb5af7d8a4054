/**
 * Starts a private MariaDB for tests: a fresh datadir under the OS temp dir, listening only on
 * 127.0.0.1 on a free port, with a real (password) user `buzzcast` that may create and use any
 * database named buzzcast*. No system service, no root privileges needed (when run as root the
 * server runs as root: --user=root).
 *
 * Guarantees: the server process is killed and its temp dir removed by stop(), and also when this
 * process exits or gets SIGINT/SIGTERM. Startup (install-db + first start) takes ~1 s here.
 * Durability is relaxed for speed (no binlog, flush log at commit = 2, no doublewrite).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection, type Connection } from "mysql2/promise";

export interface MariaDb {
  /** mysql://buzzcast:…@127.0.0.1:port/buzzcast (the database exists, empty). */
  url: string;
  port: number;
  /** A URL for the same user and a database name used by nobody else (not created: migrate creates it). */
  freshUrl(): string;
  /** One statement as root, no default database (qualify tables); rows for SELECT, else the header. Not while paused. */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  /** A root connection (to `database` when given) that the caller ends; for lock-holding tests. */
  connect(database?: string): Promise<Connection>;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung database). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Clean shutdown and start again on the same port and datadir; resolves when it accepts connections. */
  restart(): Promise<void>;
  /** Shutdown, kill if it lingers, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Where and how to run it; the defaults are loopback, a free port, a plain spawn. */
export interface MariaDbOptions {
  /** Listen address (default 127.0.0.1). When set, the harness's own root connections use the Unix socket. */
  bindAddress?: string;
  /** Port (default: a free loopback port). */
  port?: number;
  /** Command prefix for mariadbd, e.g. ["ip", "netns", "exec", ns] to run it on a simulated host. */
  exec?: readonly string[];
  /** Host part of the `buzzcast` user (default 127.0.0.1), e.g. "10.123.7.%". */
  clientHost?: string;
}

const MARIADBD = process.env.MARIADBD ?? (existsSync("/usr/sbin/mariadbd") ? "/usr/sbin/mariadbd" : "mariadbd");
const INSTALL_DB = process.env.MARIADB_INSTALL_DB ?? "mariadb-install-db";
const USER = "buzzcast";
const PASSWORD = "buzz-test-pw";
const asRoot = process.getuid?.() === 0;

const running = new Set<{ child: ChildProcess | null; dir: string }>();
function killAll(): void {
  for (const r of running) {
    r.child?.kill("SIGKILL");
    rmSync(r.dir, { recursive: true, force: true });
  }
  running.clear();
}
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const onSignal = (): void => {
      killAll();
      process.off(sig, onSignal);
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const serverFlags = (dir: string): string[] => [
  "--no-defaults",
  `--datadir=${join(dir, "data")}`,
  `--tmpdir=${dir}`,
  ...(asRoot ? ["--user=root"] : []),
  "--skip-log-bin",
  "--innodb-buffer-pool-size=32M",
  "--innodb-log-file-size=16M",
  "--innodb-flush-log-at-trx-commit=2",
  "--innodb-doublewrite=0",
  "--skip-name-resolve",
  "--performance-schema=OFF",
];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startMariaDb(opts: MariaDbOptions = {}): Promise<MariaDb> {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), "buzzcast-mariadb-"));
  const entry: { child: ChildProcess | null; dir: string } = { child: null, dir };
  running.add(entry);
  const errLog = join(dir, "error.log");
  const socket = join(dir, "mysqld.sock");
  const logTail = (): string => (existsSync(errLog) ? readFileSync(errLog, "utf8").split("\n").slice(-15).join("\n") : "");

  const installError = await new Promise<string | null>((resolve) => {
    execFile(
      INSTALL_DB,
      [...serverFlags(dir), "--auth-root-authentication-method=normal", "--skip-test-db"],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve(err ? `${err.message}\n${stderr}${stdout}` : null),
    );
  });
  if (installError !== null) {
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${installError}`);
  }

  let port = 0;
  let paused = false;
  const rootConnect = (connectTimeout: number, database?: string) =>
    createConnection({
      ...(opts.bindAddress === undefined ? { host: "127.0.0.1" } : { socketPath: socket }),
      port,
      user: "root",
      connectTimeout,
      supportBigNumbers: true,
      ...(database ? { database } : {}),
    });

  async function launch(): Promise<void> {
    const [cmd, ...pre] = [...(opts.exec ?? []), MARIADBD];
    const child = spawn(
      cmd,
      [
        ...pre,
        ...serverFlags(dir),
        `--port=${port}`,
        `--bind-address=${opts.bindAddress ?? "127.0.0.1"}`,
        `--socket=${socket}`,
        `--pid-file=${join(dir, "mysqld.pid")}`,
        `--log-error=${errLog}`,
        "--max-connections=300",
      ],
      { stdio: "ignore" },
    );
    child.unref(); // a test that forgets stop() must not hang: the exit hook kills the server
    entry.child = child;
    let exited: string | null = null;
    child.once("exit", (code, sig) => (exited = `exited with ${String(code ?? sig)}`));
    const until = Date.now() + 30_000;
    for (;;) {
      if (exited !== null) throw new Error(`mariadbd ${String(exited)}:\n${logTail()}`);
      try {
        const c = await rootConnect(1000);
        await c.end();
        return;
      } catch (err) {
        if (Date.now() > until)
          throw new Error(
            `mariadbd did not accept connections within 30 s: ${err instanceof Error ? err.message : String(err)}\n${logTail()}`,
            {
              cause: err,
            },
          );
        await sleep(30);
      }
    }
  }

  async function shutdown(): Promise<void> {
    const child = entry.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (paused) {
      child.kill("SIGCONT");
      paused = false;
    }
    const gone = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await gone;
    clearTimeout(timer);
  }

  for (let tries = 1; ; tries++) {
    port = opts.port ?? (await freePort());
    try {
      await launch();
      break;
    } catch (err) {
      await shutdown();
      // Another process may have taken the port between freePort() and the bind: try another.
      if (tries >= 3) {
        running.delete(entry);
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  async function query<T>(sql: string, params?: unknown[]): Promise<T> {
    const c = await rootConnect(5000);
    try {
      return (await c.query({ sql, values: params, timeout: 30_000 }))[0] as T;
    } finally {
      await c.end();
    }
  }

  try {
    const clientHost = opts.clientHost ?? "127.0.0.1";
    await query(`CREATE USER '${USER}'@'${clientHost}' IDENTIFIED BY '${PASSWORD}'`);
    await query(`GRANT ALL PRIVILEGES ON \`buzzcast%\`.* TO '${USER}'@'${clientHost}'`);
    await query("CREATE DATABASE buzzcast CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  } catch (err) {
    await shutdown();
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let dbCounter = 0;
  const urlFor = (db: string) => `mysql://${USER}:${PASSWORD}@${opts.bindAddress ?? "127.0.0.1"}:${port}/${db}`;
  let stopped = false;

  return {
    url: urlFor("buzzcast"),
    port,
    freshUrl: () => urlFor(`buzzcast_t${process.pid}_${++dbCounter}`),
    query,
    connect: (database?: string) => rootConnect(5000, database),
    pause() {
      entry.child?.kill("SIGSTOP");
      paused = true;
    },
    resume() {
      entry.child?.kill("SIGCONT");
      paused = false;
    },
    async restart() {
      await shutdown();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await shutdown();
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
