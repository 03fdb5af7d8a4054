/**
 * The clock the overload control (tick-rate.ts, fanout-cost.ts) measures tick work with: the
 * calling thread's own on-CPU time, so a tick that waits for a core another process holds (a load
 * generator on the same box) is not taken for work. On Linux it is the first field of
 * /proc/thread-self/schedstat (nanoseconds on a CPU; per thread, so each worker thread reads its
 * own). Where that file cannot be read (not Linux, no schedstat) it is wall time, as before.
 * One small file read per measurement point (a few per tick), nothing per subscriber.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** A monotonic clock in milliseconds. */
export type WorkClock = () => number;

export const SCHEDSTAT_PATH = "/proc/thread-self/schedstat";

/** The on-CPU milliseconds in a schedstat line ("<on-cpu ns> <wait ns> <slices>"); NaN if unreadable. */
export function parseSchedstatMs(text: string): number {
  const field = /^\d+/.exec(text);
  return field === null ? NaN : Number(field[0]) / 1e6;
}

/** Thread CPU time when `path` reads as a schedstat line, else wall time (performance.now). */
export function workClock(path = SCHEDSTAT_PATH): { clock: WorkClock; kind: "thread-cpu" | "wall" } {
  const read = (): number => parseSchedstatMs(readFileSync(path, "latin1"));
  try {
    if (Number.isFinite(read())) return { clock: read, kind: "thread-cpu" };
  } catch {
    // no such file (not Linux, or a kernel without schedstat): wall time, the old measure
  }
  return { clock: () => performance.now(), kind: "wall" };
}
