/**
 * Composition root: config -> backends -> node -> signals.
 * Exit codes: 0 after a clean drain, 1 on a start-up failure, 2 on bad configuration.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, parseConfig, type Config } from "./config.ts";
import { MemoryStore } from "./store/memory-store.ts";
import { startNode, type Backends } from "./node.ts";
import { createLogger, type Logger } from "./ops/logger.ts";
import { MemoryShowSource } from "./shows/show-source.ts";
import { assertNativeUws } from "./transport/uws.ts";

async function chooseBackends(cfg: Config, log: Logger): Promise<Backends> {
  if (cfg.MEMCACHED_SERVERS || cfg.MYSQL_URL) {
    const { createSharedBackends } = await import("./store/choose-backends.ts");
    return createSharedBackends(cfg, log);
  }
  log.info("embedded mode: in-process stores (set MEMCACHED_SERVERS and MYSQL_URL to share and persist)");
  return { store: new MemoryStore(), showSource: new MemoryShowSource(), showPollMs: 0 };
}

/** Build the pages if they are missing (first `npm start` on a fresh checkout). */
async function ensurePages(cfg: Config, log: Logger): Promise<void> {
  if (existsSync(join(cfg.STATIC_DIR, "index.html"))) return;
  const buildScript = resolve("client/build.ts");
  if (!existsSync(buildScript)) return log.warn("pages not built and no client/build.ts found");
  log.info("building pages", { outDir: cfg.STATIC_DIR });
  const mod = (await import(pathToFileURL(buildScript).href)) as { buildClient(outDir?: string): Promise<unknown> };
  await mod.buildClient(cfg.STATIC_DIR);
}

async function main(): Promise<void> {
  let cfg: Config;
  try {
    cfg = parseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`buzzcast: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.LOG_LEVEL, { node: cfg.NODE_ID });
  assertNativeUws();
  await ensurePages(cfg, log);

  const adminToken = cfg.ADMIN_TOKEN ?? randomBytes(18).toString("base64url");
  if (cfg.WORKERS > 1) {
    const { runSupervisor } = await import("./cluster/supervisor.ts");
    return runSupervisor(cfg, adminToken, log, process.env);
  }
  const backends = await chooseBackends(cfg, log);
  const node = await startNode(cfg, adminToken, log, backends);
  const host = cfg.HOST === "0.0.0.0" ? "127.0.0.1" : cfg.HOST;
  log.info("listening", { port: node.port, url: `http://${host}:${node.port}`, policy: cfg.BUZZ_POLICY, tickMs: cfg.TICK_MS });
  if (!cfg.ADMIN_TOKEN) log.info("generated admin token (set ADMIN_TOKEN to choose one)", { adminToken });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("draining", { signal });
    const hard = setTimeout(() => {
      log.error("drain timed out; exiting", { timeoutMs: cfg.DRAIN_TIMEOUT_MS });
      process.exit(1);
    }, cfg.DRAIN_TIMEOUT_MS);
    hard.unref();
    node.drain().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error("drain failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`buzzcast: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
