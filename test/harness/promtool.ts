/**
 * `promtool check metrics` (Debian's `prometheus` package): the exposition parses, and every family
 * passes Prometheus' naming lint (counters end in `_total`, no `_sum` posing as a counter, no type
 * in a name, base units only).
 */
import { spawnSync } from "node:child_process";

export interface PromtoolVerdict {
  ok: boolean;
  /** What promtool printed (its findings, one a line). */
  output: string;
}

export function promtoolCheck(exposition: string): PromtoolVerdict {
  const r = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw new Error(`promtool could not run (apt-get install prometheus): ${r.error.message}`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}
