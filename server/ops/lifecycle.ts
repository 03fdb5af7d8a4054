/**
 * The one process lifecycle of a buzzcast server, for a single process (main.ts, WORKERS=1) and for
 * the supervisor of worker threads (cluster/supervisor.ts) alike:
 *  - SIGTERM or SIGINT starts the drain once (later signals are ignored while it runs).
 *  - A hard-exit timer (DRAIN_TIMEOUT_MS, unref'd) exits 1 if the drain has not finished by then.
 *  - The drain resolves with the exit code (0 clean, 1 if a part did not stop cleanly); a drain that
 *    rejects exits 1 with the error logged.
 * Drain order is the caller's: node.ts (stop listening -> acks and closes -> final flush -> store
 * close) or the supervisor (every worker drains that way, then exits).
 */
import type { Logger } from "./logger.ts";

/** The part of `process` the lifecycle uses (injected by tests). */
export interface ProcessLike {
  on(event: "SIGTERM" | "SIGINT", listener: () => void): unknown;
  exit(code: number): void;
}

export interface TimerLike {
  unref(): unknown;
}

export interface LifecycleOptions {
  drainTimeoutMs: number;
  /** Stop everything in order; resolves with the exit code. */
  drain(): Promise<number>;
  log: Logger;
  proc?: ProcessLike;
  setTimer?: (fn: () => void, ms: number) => TimerLike;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
/** Used by main.ts before any lifecycle exists. */
export const EXIT_BAD_CONFIG = 2;
/** Start refused: another live process holds this NODE_ID's lease in the record (record/node-lease.ts). */
export const EXIT_NODE_ID_TAKEN = 3;

export interface Lifecycle {
  /** Start the drain as if `signal` had arrived (idempotent). */
  stop(signal: string): void;
}

export function runLifecycle(opts: LifecycleOptions): Lifecycle {
  const proc = opts.proc ?? process;
  const setTimer = opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  let stopping = false;
  let exited = false;
  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    proc.exit(code);
  };
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    opts.log.info("draining", { signal });
    setTimer(() => {
      opts.log.error("drain timed out; exiting", { timeoutMs: opts.drainTimeoutMs });
      exit(EXIT_FAILED);
    }, opts.drainTimeoutMs).unref();
    opts.drain().then(
      (code) => {
        opts.log.info("stopped", { exitCode: code });
        exit(code);
      },
      (err: unknown) => {
        opts.log.error("drain failed", { err });
        exit(EXIT_FAILED);
      },
    );
  };
  proc.on("SIGTERM", () => stop("SIGTERM"));
  proc.on("SIGINT", () => stop("SIGINT"));
  return { stop };
}
