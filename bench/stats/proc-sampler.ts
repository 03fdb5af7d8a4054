/**
 * CPU and memory of a process tree from /proc (Linux): CPU from utime+stime in /proc/<pid>/stat,
 * resident memory from VmRSS in /proc/<pid>/status, summed over the process and its descendants
 * (/proc/<pid>/task/<tid>/children), so a server that forks workers is measured whole.
 * CPU percent is of one core (200% = both cores of this machine).
 */
import { readFileSync, readdirSync } from "node:fs";

/** USER_HZ; 100 on every mainstream Linux build (sysconf(_SC_CLK_TCK)). */
export const CLK_TCK = 100;

export interface ProcSample {
  tMs: number;
  cpuSec: number;
  rssBytes: number;
  pids: number;
}

/** Parses utime+stime (seconds) from the text of /proc/<pid>/stat. */
export function parseStatCpuSec(stat: string): number {
  // Fields after the last ')' (comm may contain spaces and parentheses): state is field 3,
  // utime and stime are fields 14 and 15 (1-based), i.e. indexes 11 and 12 after the ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** VmRSS in bytes from the text of /proc/<pid>/status (0 when absent, e.g. a zombie). */
export function parseStatusRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/)) {
        if (c !== "") out.push(Number(c));
      }
    } catch {
      // the thread exited between readdir and read: it has no children to add
    }
  }
  return out;
}

/** One sample of the tree rooted at `pid`; null if the process is gone. */
export function sampleProcessTree(pid: number): ProcSample | null {
  const tMs = performance.now();
  let cpuSec = 0;
  let rssBytes = 0;
  let pids = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    try {
      cpuSec += parseStatCpuSec(readFileSync(`/proc/${p}/stat`, "utf8"));
      rssBytes += parseStatusRssBytes(readFileSync(`/proc/${p}/status`, "utf8"));
      pids++;
    } catch {
      if (p === pid) return null;
      continue;
    }
    queue.push(...childrenOf(p));
  }
  return { tMs, cpuSec, rssBytes, pids };
}

/** CPU percent (of one core) between two samples. */
export function cpuPct(a: ProcSample, b: ProcSample): number {
  const dt = (b.tMs - a.tMs) / 1000;
  return dt > 0 ? ((b.cpuSec - a.cpuSec) / dt) * 100 : 0;
}
