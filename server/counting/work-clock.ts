/**
 * The clock the overload control (tick-rate.ts, fanout-cost.ts) measures tick work with: the
 * calling thread's own on-CPU time, so a tick that waits for a core another process holds (a load
 * generator on the same box) is not taken for work. On Linux it is the first field of
 * /proc/thread-self/schedstat (nanoseconds on a CPU; per thread, so each worker thread reads its
 * own). Where that file cannot be read (not Linux, no schedstat) it is wall time, as before.
 *
 * Guarantees:
 *  - The file is opened once, when the clock is made, and read with pread at offset 0 (procfs
 *    regenerates it): a measurement never needs a free descriptor. (Opening it at each read made a
 *    node holding ~19,600 WebSockets crash with EMFILE inside a tick: measured.) One small read
 *    into a reused buffer per measurement point (a few per tick), nothing per subscriber.
 *  - The clock never throws and never goes backwards: if a read fails later, it continues in wall
 *    time from the last value read (`failures` counts it; the overload control then measures
 *    wall time, as it did before thread CPU time).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** A monotonic clock in milliseconds. */
export type WorkClock = () => number;

export const SCHEDSTAT_PATH = "/proc/thread-self/schedstat";

/** The on-CPU milliseconds in a schedstat line ("<on-cpu ns> <wait ns> <slices>"); NaN if unreadable. */
export function parseSchedstatMs(text: string): number {
  const field = /^\d+/.exec(text);
  return field === null ? NaN : Number(field[0]) / 1e6;
}

export interface WorkClockHandle {
  clock: WorkClock;
  kind: "thread-cpu" | "wall";
  /** Reads that failed after the start (the clock went on in wall time from then on). */
  readonly failures: number;
}

/** Thread CPU time when `path` reads as a schedstat line, else wall time (performance.now). */
export function workClock(path = SCHEDSTAT_PATH): WorkClockHandle {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    // no such file (not Linux, or a kernel without schedstat): wall time, the old measure
    return { clock: () => performance.now(), kind: "wall", failures: 0 };
  }
  const buf = Buffer.alloc(128);
  const read = (): number => parseSchedstatMs(buf.toString("latin1", 0, readSync(fd, buf, 0, buf.length, 0)));
  let first: number;
  try {
    first = read();
  } catch {
    first = NaN;
  }
  if (!Number.isFinite(first)) {
    closeSync(fd);
    return { clock: () => performance.now(), kind: "wall", failures: 0 };
  }
  let last = first;
  // After a failed read: wall time, offset so that it continues from the last value read.
  let wallOffset: number | null = null;
  const handle: WorkClockHandle = {
    kind: "thread-cpu",
    failures: 0,
    clock: () => {
      if (wallOffset !== null) return performance.now() + wallOffset;
      let ms: number;
      try {
        ms = read();
      } catch {
        ms = NaN;
      }
      if (Number.isFinite(ms)) return (last = Math.max(last, ms));
      (handle as { failures: number }).failures++;
      wallOffset = last - performance.now();
      return last;
    },
  };
  return handle;
}
