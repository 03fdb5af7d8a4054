/**
 * A second process started with a live node's NODE_ID, as a rolling deploy (or a careless copy of
 * a unit file) does: the record's lease must keep it from serving while the first one lives
 * (docs/operations.md "One process per NODE_ID"). It listens on its own port, so the balancer never
 * sends it anyone; whether it ever listened is what the soak checks.
 *
 * Guarantees: stop() ends the process (SIGKILL) and resolves once it has exited.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { TEST_ADMIN_TOKEN } from "./server.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface DuplicateProcess {
  /** True once it logged that it listens (it must not, while the first process holds the lease). */
  readonly listened: boolean;
  /** The exit code, once exited (3: refused to start). */
  readonly exitCode: number | null;
  stop(): Promise<void>;
}

export function startDuplicate(exec: readonly string[], env: Record<string, string>): DuplicateProcess {
  const [cmd, ...pre] = [...exec, process.execPath];
  const proc = spawn(cmd, [...pre, "--import", "tsx", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: "info", WORKERS: "1", ...env },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let listened = false;
  createInterface({ input: proc.stdout }).on("line", (line) => {
    if (line.includes('"msg":"listening"')) listened = true;
  });
  const exited = once(proc, "exit");
  return {
    get listened() {
      return listened;
    },
    get exitCode() {
      return proc.exitCode;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await exited;
      }
    },
  };
}
