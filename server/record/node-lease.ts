/**
 * One live process per node id: the lease that keeps two processes with the same NODE_ID (a rolling
 * deploy where the old process still drains, a restart after SIGKILL, a copy-pasted config) from
 * sharing one batch sequence space in the record, where the second one's batches would be reported
 * persisted and silently ignored.
 *
 * Guarantees:
 * - At start, `acquire` takes the node id's lease in the record (record.ts `acquireNodeLease`), or
 *   waits while another live process holds it (its lease is renewed), and throws NodeIdTaken after
 *   `waitMs`. The default wait covers a rolling restart: the old process releases the lease after
 *   its drain's last commit, and a SIGKILLed one's lease expires `ttlMs` after its last renewal.
 * - The holder renews every `renewMs`. Batches are fenced in the record, not here: each commits only
 *   while the lease row names this process, in the batch's own transaction. So a process that lost
 *   its lease (cut from MySQL longer than `ttlMs` while another process took the id) can write no
 *   batch; what it had not committed is lost, as on SIGKILL. It reports itself not ready
 *   (`lease: lost`), logs why, and calls `onLost` (the server drains and exits, as on SIGTERM).
 * - `release` (after the store's final commit) deletes the row, so a successor starts at once.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { threadId } from "node:worker_threads";
import type { Logger } from "../ops/logger.ts";
import { RecordError, type Record as DurableRecord } from "./record.ts";

/** Another live process holds this node id's lease: this one must not start. */
export class NodeIdTaken extends Error {
  readonly code = "node_id_taken";
  constructor(message: string) {
    super(message);
    this.name = "NodeIdTaken";
  }
}

export interface NodeLeaseOptions {
  /** How long a lease lasts without renewal (the record's clock). */
  ttlMs: number;
  /** Renewal period (well under ttlMs). */
  renewMs: number;
  /** How long `acquire` waits for another holder to end or expire. */
  waitMs: number;
  log: Logger;
  /** Called once when another process took the lease (the server drains itself: it must not take more buzzes it cannot persist). */
  onLost?: () => void;
}

/** Default lease length and renewal: a SIGKILLed node's id is free again within 5 s. */
export const NODE_LEASE_TTL_MS = 5000;
export const NODE_LEASE_RENEW_MS = 1000;

export class NodeLease {
  /** This process instance (host, pid, thread, random): never reused by another process. */
  readonly holder = `${hostname().slice(0, 64)}:${process.pid}:${threadId}:${randomBytes(6).toString("hex")}`;
  private timer: NodeJS.Timeout | null = null;
  private lostTo: string | null = null;
  private renewing = false;
  private renewFailing = false;
  renewFailures = 0;

  constructor(
    private readonly record: DurableRecord,
    private readonly node: string,
    private readonly opts: NodeLeaseOptions,
  ) {}

  /** True once another process took this node id (this process's batches are refused). */
  get lost(): boolean {
    return this.lostTo !== null;
  }

  /** Take the lease, waiting while another live process holds it; throws NodeIdTaken after `waitMs`. */
  async acquire(): Promise<void> {
    const until = Date.now() + this.opts.waitMs;
    let told = false;
    for (;;) {
      let wait: number;
      try {
        const v = await this.record.acquireNodeLease(this.node, this.holder, this.opts.ttlMs);
        if (v.ok) break;
        if (Date.now() + Math.min(v.expiresInMs, this.opts.renewMs) > until) {
          throw new NodeIdTaken(
            `NODE_ID ${this.node} is in use by another live process (${v.holder}; its lease is renewed, ${v.expiresInMs} ms left): ` +
              `give each process its own NODE_ID, or stop the other one first (waited ${this.opts.waitMs} ms)`,
          );
        }
        if (!told)
          this.opts.log.warn("NODE_ID held by another live process; waiting for it to stop or its lease to expire", {
            node: this.node,
            holder: v.holder,
            expiresInMs: v.expiresInMs,
          });
        told = true;
        wait = Math.max(50, Math.min(v.expiresInMs, this.opts.renewMs));
      } catch (err) {
        if (!(err instanceof RecordError) || err.code !== "unreachable" || Date.now() > until) throw err;
        wait = this.opts.renewMs;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    if (told) this.opts.log.info("NODE_ID lease taken", { node: this.node });
    this.timer = setInterval(() => void this.renew(), this.opts.renewMs);
    this.timer.unref();
  }

  /** Readiness checks: `lease` is "lost" once another process took the node id. */
  checks(): Record<string, string> {
    return this.lostTo === null ? {} : { lease: "lost" };
  }

  /** Stop renewing and delete the lease (after the store's final commit). Never rejects: a failure is logged (the lease then expires). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.lostTo !== null) return;
    try {
      await this.record.releaseNodeLease(this.node, this.holder);
    } catch (err) {
      this.opts.log.warn("NODE_ID lease not released; it expires by itself", { node: this.node, err, inMs: this.opts.ttlMs });
    }
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lostTo !== null) return;
    this.renewing = true;
    try {
      const v = await this.record.acquireNodeLease(this.node, this.holder, this.opts.ttlMs);
      if (this.renewFailing) this.opts.log.info("NODE_ID lease renewed again", { node: this.node });
      this.renewFailing = false;
      if (!v.ok) {
        this.lostTo = v.holder;
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        this.opts.log.error("NODE_ID lease lost to another process: this process persists nothing more and stops", {
          node: this.node,
          holder: v.holder,
        });
        this.opts.onLost?.();
      }
    } catch (err) {
      this.renewFailures++;
      if (!this.renewFailing)
        this.opts.log.warn("NODE_ID lease renewal failing (batches stay fenced by the record)", { node: this.node, err });
      this.renewFailing = true;
    } finally {
      this.renewing = false;
    }
  }
}
