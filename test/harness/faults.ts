/**
 * The fault API the fault tests and the soak drive: start a fault, stop it later (faults may
 * overlap), and a log of what was injected when. A seeded schedule only has to call start/stop.
 *
 * Kinds:
 *  - partition {from, to, oneWay}: blackhole routes between two hosts (oneWay: only from -> to).
 *  - latency {node, link, ms}: extra one-way delay on a node's link to memcached ("mc") or MariaDB ("db").
 *  - loss {node, link, pct}: emulated segment loss on that link (see docs/fault-testing.md).
 *  - late {node, link, ms}: a delay past the client's timeout (memjs 500 ms, MySQL statements 10 s):
 *    what the proxy holds is still delivered after the client gave up, so a request the node saw
 *    time out is applied later (its reply lands on a connection the client has dropped).
 *  - pause {target}: SIGSTOP; stop() sends SIGCONT.
 *  - signal {target, signal: SIGKILL|SIGTERM}: instantaneous; stop() starts the process again.
 *  - restart {target: "mc"|"db"}: instantaneous (stop() is a no-op).
 *  - duplicate {target}: a second process with the node's NODE_ID, on its own port, while the node
 *    lives; stop() kills it, and its record's `outcome` says whether it ever listened (it must not).
 * Guarantees: start() resolves once the fault is in force, stop() once it is healed; every call
 * is logged with wall-clock times (ms since 1970) and the result of stop() for kills (restarted).
 */
import type { LinkShape, Partitions, ShapingProxy } from "./link-faults.ts";
import type { HostNet } from "./netns.ts";
import type { DuplicateProcess } from "./duplicate-node.ts";

export type FaultSpec =
  | { kind: "partition"; from: string; to: string; oneWay?: boolean }
  | { kind: "latency"; node: string; link: "mc" | "db"; ms: number }
  | { kind: "loss"; node: string; link: "mc" | "db"; pct: number }
  | { kind: "late"; node: string; link: "mc" | "db"; ms: number }
  | { kind: "pause"; target: string }
  | { kind: "signal"; target: string; signal: "SIGKILL" | "SIGTERM" }
  | { kind: "restart"; target: "mc" | "db" }
  | { kind: "duplicate"; target: string };

export interface FaultRecord {
  id: number;
  spec: FaultSpec;
  startedAt: number;
  stoppedAt: number | null;
  /** duplicate: "listened" (two live processes served one NODE_ID) or "never listened". */
  outcome?: string;
}

/** What the faults act on, provided by the deployment (hosts.ts). */
export interface FaultTargets {
  host(name: string): HostNet;
  proxy(node: string): ShapingProxy;
  partitions: Partitions;
  /** Base one-way delay of every proxied link. */
  baseDelayMs: number;
  signal(target: string, sig: NodeJS.Signals): Promise<void>;
  /** Start a killed process again (same host, same config). */
  revive(target: string): Promise<void>;
  restart(target: "mc" | "db"): Promise<void>;
  /** Start a second process with node `target`'s NODE_ID (duplicate-node.ts). */
  duplicate(target: string): DuplicateProcess;
}

export class Faults {
  readonly log: FaultRecord[] = [];
  private readonly active = new Map<number, FaultRecord>();
  private readonly duplicates = new Map<number, DuplicateProcess>();

  constructor(private readonly t: FaultTargets) {}

  async start(spec: FaultSpec): Promise<number> {
    const rec: FaultRecord = { id: this.log.length + 1, spec, startedAt: Date.now(), stoppedAt: null };
    this.log.push(rec);
    this.active.set(rec.id, rec);
    switch (spec.kind) {
      case "partition":
        this.t.partitions.add(this.t.host(spec.from), this.t.host(spec.to), spec.oneWay ?? false);
        break;
      case "latency":
      case "late":
      case "loss":
        await this.reshape(spec.node, spec.link);
        break;
      case "pause":
        await this.t.signal(spec.target, "SIGSTOP");
        break;
      case "signal":
        await this.t.signal(spec.target, spec.signal);
        break;
      case "restart":
        await this.t.restart(spec.target);
        this.active.delete(rec.id);
        rec.stoppedAt = Date.now();
        break;
      case "duplicate":
        this.duplicates.set(rec.id, this.t.duplicate(spec.target));
        break;
    }
    return rec.id;
  }

  async stop(id: number): Promise<void> {
    const rec = this.active.get(id);
    if (!rec) return;
    this.active.delete(id);
    const spec = rec.spec;
    switch (spec.kind) {
      case "partition":
        this.t.partitions.remove(this.t.host(spec.from), this.t.host(spec.to), spec.oneWay ?? false);
        break;
      case "latency":
      case "late":
      case "loss":
        await this.reshape(spec.node, spec.link);
        break;
      case "pause":
        await this.t.signal(spec.target, "SIGCONT");
        break;
      case "signal":
        await this.t.revive(spec.target);
        break;
      case "restart":
        break;
      case "duplicate": {
        const d = this.duplicates.get(id);
        this.duplicates.delete(id);
        if (d) {
          rec.outcome = d.listened ? "listened" : "never listened";
          await d.stop();
        }
        break;
      }
    }
    rec.stoppedAt = Date.now();
  }

  /** Heals every active fault, newest first. */
  async stopAll(): Promise<void> {
    for (const id of [...this.active.keys()].reverse()) await this.stop(id);
  }

  /** Active latency and late faults add up; the highest active loss wins. */
  private async reshape(node: string, link: "mc" | "db"): Promise<void> {
    const shape: Required<LinkShape> = { delayMs: this.t.baseDelayMs, lossPct: 0, rtoMs: 200 };
    for (const { spec } of this.active.values()) {
      if ((spec.kind !== "latency" && spec.kind !== "late" && spec.kind !== "loss") || spec.node !== node || spec.link !== link) continue;
      if (spec.kind === "latency" || spec.kind === "late") shape.delayMs += spec.ms;
      else shape.lossPct = Math.max(shape.lossPct, spec.pct);
    }
    await this.t.proxy(node).set(link, shape);
  }
}
