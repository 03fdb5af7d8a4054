/**
 * The one process lifecycle of a buzzcast server, for a single process (main.ts, WORKERS=1) and for
 * the supervisor of worker threads (cluster/supervisor.ts) alike:
 *  - The signal handlers are installed first, before any socket or thread exists; a signal during
 *    start-up is held and drains the moment the process can (`ready`).
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

/** How this process drains, known once it has started far enough to drain. */
export interface DrainPlan {
  drainTimeoutMs: number;
  /** Stop everything in order; resolves with the exit code. */
  drain(): Promise<number>;
  log: Logger;
  /**
   * Run when the drain timed out, before the hard exit, and given at most HARD_EXIT_GRACE_MS: stop
   * what an exit would break under it (a supervisor makes its worker threads drop every socket, as
   * a thread torn down while uWebSockets.js holds one aborts the whole process).
   */
  beforeHardExit?(): Promise<void>;
}

export interface LifecycleOptions extends DrainPlan {
  proc?: ProcessLike;
  setTimer?: (fn: () => void, ms: number) => TimerLike;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
/** Used by main.ts before any lifecycle exists. */
export const EXIT_BAD_CONFIG = 2;
/** Start refused: another live process holds this NODE_ID's lease in the record (record/node-lease.ts). */
export const EXIT_NODE_ID_TAKEN = 3;
/** Longest wait for `beforeHardExit` once the drain has timed out. */
export const HARD_EXIT_GRACE_MS = 1000;

export interface Lifecycle {
  /** Start the drain as if `signal` had arrived (idempotent). */
  stop(signal: string): void;
  /**
   * The process can drain from now on. A signal that arrived before (during start-up) starts the
   * drain now: start-up is never cut in the middle, and the drain that follows closes whatever it
   * had opened.
   */
  ready(plan: DrainPlan): void;
}

/**
 * Take SIGTERM and SIGINT now, before anything that a signal's default action would tear down
 * (worker threads, sockets) exists. Until `ready`, a signal is remembered, not acted on.
 */
export function installLifecycle(env: { proc?: ProcessLike; setTimer?: (fn: () => void, ms: number) => TimerLike } = {}): Lifecycle {
  const proc = env.proc ?? process;
  const setTimer = env.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  let plan: DrainPlan | null = null;
  let pending: string | null = null;
  let stopping = false;
  let exited = false;
  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    proc.exit(code);
  };
  const begin = (p: DrainPlan, signal: string, duringStart: boolean): void => {
    p.log.info("draining", { signal, ...(duringStart ? { receivedDuring: "start-up" } : {}) });
    setTimer(() => {
      p.log.error("drain timed out; exiting", { timeoutMs: p.drainTimeoutMs });
      if (!p.beforeHardExit) return exit(EXIT_FAILED);
      const grace = setTimer(() => exit(EXIT_FAILED), HARD_EXIT_GRACE_MS);
      grace.unref();
      p.beforeHardExit().then(
        () => exit(EXIT_FAILED),
        (err: unknown) => {
          p.log.error("stopping before the hard exit failed", { err });
          exit(EXIT_FAILED);
        },
      );
    }, p.drainTimeoutMs).unref();
    p.drain().then(
      (code) => {
        p.log.info("stopped", { exitCode: code });
        exit(code);
      },
      (err: unknown) => {
        p.log.error("drain failed", { err });
        exit(EXIT_FAILED);
      },
    );
  };
  const stop = (signal: string): void => {
    if (stopping || pending !== null) return;
    if (!plan) {
      pending = signal;
      return;
    }
    stopping = true;
    begin(plan, signal, false);
  };
  proc.on("SIGTERM", () => stop("SIGTERM"));
  proc.on("SIGINT", () => stop("SIGINT"));
  return {
    stop,
    ready(p: DrainPlan) {
      if (plan) throw new Error("lifecycle already has its drain");
      plan = p;
      if (pending !== null && !stopping) {
        stopping = true;
        begin(p, pending, true);
      }
    },
  };
}

/** installLifecycle and ready at once, for a caller that can drain from the start. */
export function runLifecycle(opts: LifecycleOptions): Lifecycle {
  const life = installLifecycle({ ...(opts.proc ? { proc: opts.proc } : {}), ...(opts.setTimer ? { setTimer: opts.setTimer } : {}) });
  life.ready(opts);
  return life;
}
