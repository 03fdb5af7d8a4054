/**
 * Generator processes forked from one worker module, driven by commands: `all` sends each worker a
 * command and resolves with each one's next reply (one outstanding command per worker at a time),
 * `tell` sends without waiting, `close` asks every live worker to stop.
 */
import { fork, type ChildProcess } from "node:child_process";
import { tsxExecArgv } from "./tsx-args.ts";

export class ForkedWorkers<Cmd extends { type: string }> {
  readonly procs: ChildProcess[] = [];
  private readonly replies: Array<(m: unknown) => void> = [];

  constructor(module: URL, count: number) {
    for (let w = 0; w < count; w++) {
      const p = fork(module, [], { execArgv: tsxExecArgv(), stdio: ["ignore", "inherit", "inherit", "ipc"] });
      p.on("message", (m) => this.replies[w]?.(m));
      this.procs.push(p);
    }
  }

  /** Send a command to every worker; resolves with each one's next reply. */
  all<T>(cmd: (w: number) => Cmd): Promise<T[]> {
    return Promise.all(
      this.procs.map(
        (p, w) =>
          new Promise<T>((resolve) => {
            this.replies[w] = resolve as (m: unknown) => void;
            p.send(cmd(w));
          }),
      ),
    );
  }

  tell(cmd: Cmd): void {
    for (const p of this.procs) p.send(cmd);
  }

  close(closeCmd: Cmd): void {
    for (const p of this.procs) if (p.connected) p.send(closeCmd);
  }
}
