/**
 * Composition root: config -> backends -> node -> lifecycle (signals, drain, exit codes).
 * Exit codes: 0 after a clean drain, 1 on a start-up failure or a failed/timed-out drain, 2 on bad
 * configuration, 3 when another live process holds this NODE_ID (record/node-lease.ts).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ExportSigner, SigningKeyError } from "./audit/export-signer.ts";
import { ConfigError, parseConfig, type Config } from "./config.ts";
import { startNode } from "./node/node.ts";
import { EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_NODE_ID_TAKEN, EXIT_OK, runLifecycle } from "./ops/lifecycle.ts";
import { NodeIdTaken } from "./record/node-lease.ts";
import { createLogger, type Logger } from "./ops/logger.ts";
import { chooseBackends } from "./store/choose-backends.ts";
import { startAgentCheck } from "./transport/agent-check.ts";
import { assertNativeUws } from "./transport/uws.ts";

/** Pages are built by `npm run build` (or by `npm start` from source); the server only serves them. */
function checkPages(cfg: Config, log: Logger): void {
  if (!existsSync(join(cfg.STATIC_DIR, "index.html")))
    log.warn("pages not built: run npm run build, or set STATIC_DIR", { dir: cfg.STATIC_DIR });
}

/** A key file that does not hold an Ed25519 private key is bad configuration (exit 2), not a failure later. */
function checkSigningKeyFile(path: string): void {
  try {
    ExportSigner.fromFile(path);
  } catch (err) {
    if (!(err instanceof SigningKeyError)) throw err;
    throw new ConfigError(`invalid configuration:\n  EXPORT_SIGNING_KEY_FILE=${JSON.stringify(path)}: ${err.message}`);
  }
}

async function main(): Promise<void> {
  let cfg: Config;
  try {
    cfg = parseConfig();
    if (cfg.EXPORT_SIGNING_KEY_FILE !== undefined) checkSigningKeyFile(cfg.EXPORT_SIGNING_KEY_FILE);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`buzzcast: ${err.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw err;
  }
  const log = createLogger(cfg.LOG_LEVEL, { node: cfg.NODE_ID });
  assertNativeUws();
  checkPages(cfg, log);

  const adminToken = cfg.ADMIN_TOKEN ?? randomBytes(18).toString("base64url");
  if (cfg.WORKERS > 1) {
    const { runSupervisor } = await import("./cluster/supervisor.ts");
    return runSupervisor(cfg, adminToken, log, process.env);
  }
  const node = await startNode(cfg, adminToken, log, await chooseBackends(cfg, log, null));
  const agent =
    cfg.AGENT_PORT === undefined
      ? null
      : await startAgentCheck(cfg.HOST, cfg.AGENT_PORT, () => node.readiness().checks.node === "shedding", log);
  const host = cfg.HOST === "0.0.0.0" ? "127.0.0.1" : cfg.HOST;
  log.info("listening", { port: node.port, url: `http://${host}:${node.port}`, policy: cfg.BUZZ_POLICY, tickMs: cfg.TICK_MS });
  if (!cfg.ADMIN_TOKEN) log.info("generated admin token (set ADMIN_TOKEN to choose one)", { adminToken });
  runLifecycle({
    drainTimeoutMs: cfg.DRAIN_TIMEOUT_MS,
    log,
    drain: async () => {
      await agent?.close();
      await node.drain();
      return EXIT_OK;
    },
  });
}

main().catch((err: unknown) => {
  if (err instanceof NodeIdTaken || (err as { exitCode?: unknown }).exitCode === EXIT_NODE_ID_TAKEN) {
    process.stderr.write(`buzzcast: refusing to start: ${(err as Error).message}\n`);
    process.exit(EXIT_NODE_ID_TAKEN);
  }
  process.stderr.write(`buzzcast: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_FAILED);
});
