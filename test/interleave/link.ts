/**
 * One node's connection to a fake backend, where the plan's faults happen. Each request is applied
 * to the backend at one virtual instant and answered at a later one; a fault changes that:
 *  - "slow": applied and answered `lateMs` later (inside the timeout: it reorders);
 *  - "timeout-late": the caller times out, the request is applied `lateMs` AFTER the timeout;
 *  - "timeout-applied": applied on time, the answer is lost, the caller times out;
 *  - "timeout-lost": never applied, the caller times out;
 *  - "error": refused at once (connection refused), never applied.
 * A cut (a window of virtual time) refuses every request sent in it. `fifo` links (memcached: one
 * socket per server) apply in send order, so one late request holds back every later one, as a
 * stalled TCP connection does; record links (a pool) apply in any order.
 */
import type { Sim } from "./sim.ts";
import type { Rng } from "../soak/rng.ts";

export type FaultKind = "slow" | "timeout-late" | "timeout-applied" | "timeout-lost" | "error";
export type Backend = "cache" | "record";

/** A fault on one request: the `op`-th request (0-based) `node` sends to `backend`. */
export interface Fault {
  backend: Backend;
  node: number;
  op: number;
  kind: FaultKind;
  lateMs: number;
}

/** `node` cannot reach `backend` from `from` to `to` (virtual ms after the start of the run). */
export interface Cut {
  backend: Backend;
  node: number;
  from: number;
  to: number;
}

export interface Network {
  /** No faults or cuts apply to requests sent while calm (the settling end of a run). */
  calm: boolean;
  faults: ReadonlyMap<string, Fault>;
  cuts: readonly Cut[];
  /** Requests sent and not yet applied or dropped (the run settles only at 0). */
  inFlight: number;
  trace: string[] | null;
}

export const faultKey = (backend: Backend, node: number, op: number): string => `${backend}/${node}/${op}`;

export class Link {
  private sent = 0;
  private lastApply = 0;
  /** fifo: requests not applied yet, in send order. */
  private readonly queue: Array<{ run: () => void; done: boolean }> = [];

  constructor(
    private readonly sim: Sim,
    private readonly rng: Rng,
    private readonly net: Network,
    readonly backend: Backend,
    readonly node: number,
    private readonly fifo: boolean,
    private readonly timeoutMs: number,
    private readonly failure: (kind: "timeout" | "unreachable", what: string) => Error,
  ) {}

  /** Send one request; `apply` runs at the instant the backend applies it. */
  call<T>(what: string, apply: () => Promise<T>): Promise<T> {
    const op = this.sent++;
    const now = this.sim.now();
    const cut =
      !this.net.calm && this.net.cuts.some((c) => c.backend === this.backend && c.node === this.node && now >= c.from && now < c.to);
    const fault = this.net.calm ? undefined : this.net.faults.get(faultKey(this.backend, this.node, op));
    const d1 = this.rng.int(0, 4);
    const d2 = this.rng.int(0, 4);
    const kind = cut ? "error" : (fault?.kind ?? "normal");
    const late = fault?.lateMs ?? 0;
    if (kind !== "normal") this.note(`${this.backend} n${this.node} #${op} ${what}: ${cut ? "cut" : kind}${late ? ` ${late}ms` : ""}`);
    return new Promise<T>((resolve, reject) => {
      const fail = (k: "timeout" | "unreachable"): void => reject(this.failure(k, `${what} (${k}, simulated)`));
      if (kind === "error") {
        this.sim.setTimer(() => fail("unreachable"), d1);
        return;
      }
      const timeoutAt = now + this.timeoutMs;
      if (kind === "timeout-lost") {
        this.sim.setTimer(() => fail("timeout"), this.timeoutMs);
        return;
      }
      let applyAt = now + d1 + (kind === "slow" ? late : kind === "timeout-late" ? this.timeoutMs + late : 0);
      if (this.fifo) applyAt = Math.max(applyAt, this.lastApply);
      this.lastApply = Math.max(this.lastApply, applyAt);
      const replyAt = applyAt + d2;
      const answered = kind !== "timeout-late" && kind !== "timeout-applied" && replyAt <= timeoutAt;
      if (kind === "normal" && !answered) this.note(`${this.backend} n${this.node} #${op} ${what}: held behind a late request, times out`);
      this.net.inFlight++;
      const run = (): void => {
        this.net.inFlight--;
        const result = apply();
        if (kind !== "normal" || !answered) {
          result.then(
            (v) => this.note(`${this.backend} n${this.node} #${op} applied: ${brief(v)}`),
            (err: unknown) => this.note(`${this.backend} n${this.node} #${op} applied: rejected ${String(err)}`),
          );
        }
        if (answered) {
          result.then(
            (v) => this.sim.setTimer(() => resolve(v), d2),
            (err: unknown) => this.sim.setTimer(() => reject(err instanceof Error ? err : new Error(String(err))), d2),
          );
        } else result.catch(() => undefined); // the caller gave up on it: its outcome is not reported
      };
      if (!this.fifo) this.sim.setTimer(run, applyAt - now);
      else {
        // In send order: an earlier request due at the same instant is applied first.
        const entry = { run, done: false };
        this.queue.push(entry);
        this.sim.setTimer(() => {
          while (!entry.done) {
            const first = this.queue.shift()!;
            first.done = true;
            first.run();
          }
        }, applyAt - now);
      }
      if (!answered) this.sim.setTimer(() => fail("timeout"), this.timeoutMs);
    });
  }

  private note(line: string): void {
    this.net.trace?.push(`${this.sim.now()}ms ${line}`);
  }
}

function brief(v: unknown): string {
  if (v instanceof Map) return JSON.stringify([...v]);
  const s = JSON.stringify(v) ?? "undefined";
  return s.length > 120 ? `${s.slice(0, 120)}...` : s;
}
