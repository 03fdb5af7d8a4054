/** Facts about the machine a report was measured on. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { REPO_ROOT } from "../run/tsx-args.ts";

function uwsVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}node_modules/uWebSockets.js/package.json`, "utf8")) as {
      name?: string;
      version?: string;
    };
    return `${pkg.name ?? "?"}@${pkg.version ?? "?"}`;
  } catch {
    return "unknown";
  }
}

export function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  const [l1, l5] = os.loadavg();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    uWebSockets: uwsVersion(),
    loadAvg1AtStart: Math.round((l1 ?? 0) * 100) / 100,
    loadAvg5AtStart: Math.round((l5 ?? 0) * 100) / 100,
  };
}
