/**
 * Sends buzzes on ready connections in one of two shapes:
 *  - flood: each sender writes a batch of `batchFrames` frames per write (the server's parsing
 *    ceiling: few syscalls, many frames);
 *  - paced: one frame per write, round-robin over the senders (what real viewers do: one syscall
 *    and one wakeup per buzz on the server).
 * At `ratePerSec` > 0 the total is held to that rate (token bucket over elapsed time, checked every
 * millisecond); at 0 it sends as fast as connections accept.
 * Backpressure: a connection with bytes still queued in Node is skipped (its buffer is reused only
 * once the kernel took the previous write), and sending pauses while the kernel's TCP memory is
 * above a budget (default 64 MiB): frames the server has not read yet wait in its receive queues
 * (autotuned up to 32 MiB per socket here), so without the budget a flood would queue seconds of
 * work there and exhaust kernel memory. With it, the server always has work queued (~1 s of
 * flood at 64 MiB) and the drain after the load stops stays short. Nothing is queued without bound.
 */
import { readTcpMemLimits, readTcpMemPages } from "../stats/kernel-tcp-memory.ts";
import type { BenchConnection } from "./bench-connection.ts";
import { BuzzFrames } from "./buzz-frames.ts";
import type { LoadPlan } from "./ipc.ts";
import type { VisibilityTracker } from "./visibility.ts";

/** Frames per round in paced mode at full speed before yielding to I/O. */
const PACED_ROUND = 512;
/** /proc/net/sockstat and tcp_mem count 4 KiB pages. */
const PAGE_BYTES = 4096;
/** Most frames per round when catching up with a target rate after a stall. */
const MAX_ROUND = 8192;

export class LoadDriver {
  sent = 0;
  tcpMemPauses = 0;
  private running = false;
  private timeout: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private t0 = 0;
  private sentAtStart = 0;
  private cursor = 0;
  private pausedUntilCheck = false;
  private lastMemCheck = 0;
  private readonly memLimitPages: number | null;
  private plan: LoadPlan | null = null;
  private senders: BenchConnection[] = [];

  constructor(
    private readonly readyConnections: () => BenchConnection[],
    tcpMemBudgetBytes: number,
    private readonly tracker: () => VisibilityTracker | null,
    private readonly setSending: (c: BenchConnection, sending: boolean) => void,
    /** Protocol v2: the act's index in the show's act table (null: protocol v1). */
    private readonly v2Index: ((act: string) => number | undefined) | null = null,
  ) {
    // The budget, but never more than half of the kernel's "pressure" threshold.
    const limits = readTcpMemLimits();
    const budgetPages = tcpMemBudgetBytes / PAGE_BYTES;
    this.memLimitPages = tcpMemBudgetBytes > 0 && limits !== null ? Math.min(budgetPages, limits.pressurePages / 2) : null;
  }

  start(plan: LoadPlan): void {
    this.stop();
    const ready = this.readyConnections();
    this.senders = plan.senders > 0 ? ready.slice(0, plan.senders) : ready;
    for (const c of this.senders) this.setSending(c, true);
    const capacity = plan.mode === "flood" ? plan.batchFrames : 1;
    const index = this.v2Index?.(plan.act);
    if (this.v2Index !== null && index === undefined) throw new Error(`act ${plan.act} is not in the show's act table`);
    for (const c of this.senders) {
      if (c.frames === null || c.frames.capacity !== capacity || this.plan?.act !== plan.act) {
        c.frames = new BuzzFrames(c.dialect, plan.act, capacity, index);
      }
    }
    this.plan = plan;
    this.running = true;
    this.t0 = performance.now();
    this.sentAtStart = this.sent;
    this.cursor = 0;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    for (const c of this.senders) this.setSending(c, false);
    if (this.timeout !== null) clearTimeout(this.timeout);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timeout = null;
    this.immediate = null;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (delayMs > 0) this.timeout = setTimeout(() => this.round(), delayMs);
    else this.immediate = setImmediate(() => this.round());
  }

  private memoryTight(now: number): boolean {
    if (this.memLimitPages === null) return false;
    if (now - this.lastMemCheck >= 50) {
      this.lastMemCheck = now;
      const pages = readTcpMemPages();
      const tight = pages !== null && pages > this.memLimitPages;
      if (tight && !this.pausedUntilCheck) this.tcpMemPauses++;
      this.pausedUntilCheck = tight;
    }
    return this.pausedUntilCheck;
  }

  private round(): void {
    this.timeout = null;
    this.immediate = null;
    const plan = this.plan;
    if (!this.running || plan === null) return;
    const now = performance.now();
    if (this.memoryTight(now)) return this.schedule(10);
    const n = this.senders.length;
    if (n === 0) return this.schedule(10);
    let budget =
      plan.ratePerSec > 0
        ? Math.floor(((now - this.t0) / 1000) * plan.ratePerSec) - (this.sent - this.sentAtStart)
        : Number.POSITIVE_INFINITY;
    if (budget <= 0) return this.schedule(1);
    budget = Math.min(budget, MAX_ROUND * (plan.mode === "flood" ? plan.batchFrames : 1));
    const tracker = this.tracker();
    const track = tracker !== null && tracker.act === plan.act;
    const sendTime = track ? performance.timeOrigin + now : 0;
    let wrote = 0;
    if (plan.mode === "flood") {
      for (let visited = 0; visited < n && budget > 0; visited++) {
        const c = this.senders[this.cursor]!;
        this.cursor = (this.cursor + 1) % n;
        if (!c.ready || c.queuedBytes > 0 || c.frames === null) continue;
        const k = Math.min(plan.batchFrames, budget);
        c.writeRaw(c.frames.fill(c.nextSeq, k));
        c.nextSeq += k;
        budget -= k;
        wrote += k;
        if (track) for (let i = 0; i < k; i++) tracker.sentAt(sendTime);
      }
    } else {
      const limit = Math.min(budget, plan.ratePerSec > 0 ? MAX_ROUND : PACED_ROUND);
      let skipped = 0;
      while (wrote < limit && skipped < n) {
        const c = this.senders[this.cursor]!;
        this.cursor = (this.cursor + 1) % n;
        if (!c.ready || c.queuedBytes > 0 || c.frames === null) {
          skipped++;
          continue;
        }
        skipped = 0;
        c.writeRaw(c.frames.fill(c.nextSeq++, 1));
        wrote++;
        if (track) tracker.sentAt(performance.timeOrigin + performance.now());
      }
    }
    this.sent += wrote;
    // Nothing writable: wait a little instead of spinning (the generator's CPU is part of the report).
    this.schedule(wrote === 0 || plan.ratePerSec > 0 ? 1 : 0);
  }
}
