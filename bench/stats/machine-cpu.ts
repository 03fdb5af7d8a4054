/** Whole-machine CPU busy time from /proc/stat, to show how much CPU processes outside the run took. */
import { readFileSync } from "node:fs";
import { CLK_TCK } from "./proc-sampler.ts";

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine since boot; null off Linux. */
export function machineBusySec(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return null;
  }
}
