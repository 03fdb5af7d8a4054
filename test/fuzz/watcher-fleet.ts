/**
 * Viewers that keep reading, spread over child processes (watcher-process.ts) so that reading
 * thousands of connections does not measure the test's own thread: opened, measured over windows
 * (totals frames received and their delivery latencies, merged), closed.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FleetCommand, FleetReport } from "./watcher-process.ts";

const ENTRY = fileURLToPath(new URL("./watcher-process.ts", import.meta.url));

export class WatcherFleet {
  private constructor(
    private readonly children: ChildProcess[],
    readonly size: number,
  ) {}

  /** `count` v2 watchers of `show`, over `processes` children; resolves once every one has its welcome. */
  static async open(wsUrl: string, show: string, count: number, processes: number): Promise<WatcherFleet> {
    const shares = Array.from({ length: processes }, (_, i) => Math.floor(count / processes) + (i < count % processes ? 1 : 0)).filter(
      (n) => n > 0,
    );
    const children = shares.map((n) => fork(ENTRY, [wsUrl, show, String(n)], { execArgv: ["--import", import.meta.resolve("tsx")] }));
    const fleet = new WatcherFleet(children, count);
    try {
      await Promise.all(children.map((c) => fleet.next(c, "ready")));
    } catch (err) {
      for (const c of children) c.kill();
      throw err;
    }
    return fleet;
  }

  start(): void {
    for (const c of this.children) this.send(c, { type: "start" });
  }

  /** The window since `start`: totals frames received by all, and every one's latency (ms). */
  async stop(): Promise<{ frames: number; lat: number[] }> {
    const reports = await Promise.all(
      this.children.map((c) => {
        const r = this.next(c, "window");
        this.send(c, { type: "stop" });
        return r;
      }),
    );
    return { frames: reports.reduce((s, r) => s + r.frames, 0), lat: reports.flatMap((r) => r.lat) };
  }

  /** Closes every watcher; how many the server had closed before. */
  async close(): Promise<number> {
    const reports = await Promise.all(
      this.children.map((c) => {
        const r = this.next(c, "closed");
        this.send(c, { type: "close" });
        return r;
      }),
    );
    return reports.reduce((s, r) => s + r.closedEarly, 0);
  }

  /** Ends the children at once (after a failure: their connections must not outlive the test). */
  kill(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill();
  }

  private send(c: ChildProcess, m: FleetCommand): void {
    c.send(m);
  }

  /** The child's next report, which must be of type `type`. */
  private next<T extends FleetReport["type"]>(c: ChildProcess, type: T): Promise<Extract<FleetReport, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`watcher process exited (${code}) before its ${type} report`));
      c.once("exit", onExit);
      c.once("message", (m: FleetReport) => {
        c.off("exit", onExit);
        if (m.type === type) resolve(m as Extract<FleetReport, { type: T }>);
        else reject(new Error(`watcher process: expected ${type}, got ${JSON.stringify(m).slice(0, 200)}`));
      });
    });
  }
}
