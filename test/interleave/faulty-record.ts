/**
 * The durable record as the harness sees it: one MemoryRecord (the real in-memory implementation
 * of the Record contract) reached by each node through its own Link, so a batch, a totals read or
 * a show save can be delayed, refused, or time out on the caller's side and still commit later.
 */
import { MemoryRecord } from "../../server/record/memory-record.ts";
import {
  RecordError,
  type AuditCursor,
  type AuditRow,
  type CountBatch,
  type LeaseVerdict,
  type OnAirTotal,
  type PersistOutcome,
  type SaveShowResult,
  type Record,
  type ShowRecord,
  type StageChange,
} from "../../server/record/record.ts";
import type { Link } from "./link.ts";

export const recordFailure = (kind: "timeout" | "unreachable", what: string): Error => new RecordError("unreachable", what);

export class FaultyRecord implements Record {
  constructor(
    private readonly inner: MemoryRecord,
    private readonly link: Link,
  ) {}

  migrate(): Promise<void> {
    return this.link.call("migrate", () => this.inner.migrate());
  }
  persistCounts(batch: CountBatch): Promise<PersistOutcome> {
    return this.link.call(`persist #${batch.batchSeq}`, () => this.inner.persistCounts(structuredClone(batch)));
  }
  lastBatchSeq(node: string): Promise<number> {
    return this.link.call("lastBatchSeq", () => this.inner.lastBatchSeq(node));
  }
  countTotals(show: string, epoch: string): Promise<Map<string, number>> {
    return this.link.call(`countTotals ${show}`, () => this.inner.countTotals(show, epoch));
  }
  auditTotals(show: string, epoch: string): Promise<Map<string, number>> {
    return this.link.call(`auditTotals ${show}`, () => this.inner.auditTotals(show, epoch));
  }
  auditPage(
    show: string,
    epoch: string,
    after: AuditCursor | null,
    limit: number,
  ): Promise<{ rows: AuditRow[]; next: AuditCursor | null }> {
    return this.link.call(`auditPage ${show}`, () => this.inner.auditPage(show, epoch, after, limit));
  }
  timeline(show: string, epoch: string, act: string, intervalMs: number): Promise<Array<[number, number]>> {
    return this.link.call(`timeline ${show}`, () => this.inner.timeline(show, epoch, act, intervalMs));
  }
  markClaimEpoch(show: string, epoch: string, node: string): Promise<"created" | "exists"> {
    return this.link.call(`markClaimEpoch ${show}`, () => this.inner.markClaimEpoch(show, epoch, node));
  }
  joinClaimCache(show: string, epoch: string, node: string): Promise<boolean> {
    return this.link.call(`joinClaimCache ${show}`, () => this.inner.joinClaimCache(show, epoch, node));
  }
  claimRecordMode(show: string, epoch: string, node: string): Promise<string[]> {
    return this.link.call(`claimRecordMode ${show}`, () => this.inner.claimRecordMode(show, epoch, node));
  }
  leaveClaimCache(node: string, show: string | null, epoch: string | null): Promise<void> {
    return this.link.call(`leaveClaimCache ${String(show)}`, () => this.inner.leaveClaimCache(node, show, epoch));
  }
  lockClose(show: string, epoch: string, version: number, token: string): Promise<boolean> {
    return this.link.call(`lockClose ${show} v${version}`, () => this.inner.lockClose(show, epoch, version, token));
  }
  saveShow(rec: ShowRecord, base?: number | null): Promise<SaveShowResult> {
    return this.link.call(`saveShow ${rec.show.id} v${rec.version} from ${String(base)}`, () =>
      this.inner.saveShow(structuredClone(rec), base),
    );
  }
  acquireNodeLease(node: string, holder: string, ttlMs: number): Promise<LeaseVerdict> {
    return this.link.call(`acquireNodeLease ${node}`, () => this.inner.acquireNodeLease(node, holder, ttlMs));
  }
  releaseNodeLease(node: string, holder: string): Promise<void> {
    return this.link.call(`releaseNodeLease ${node}`, () => this.inner.releaseNodeLease(node, holder));
  }
  loadShow(id: string): Promise<ShowRecord | null> {
    return this.link.call(`loadShow ${id}`, () => this.inner.loadShow(id));
  }
  listShows(): Promise<ShowRecord[]> {
    return this.link.call("listShows", () => this.inner.listShows());
  }
  stageHistory(show: string): Promise<StageChange[]> {
    return this.link.call(`stageHistory ${show}`, () => this.inner.stageHistory(show));
  }
  recordOnAir(rows: readonly OnAirTotal[]): Promise<void> {
    return this.link.call(`recordOnAir ${rows.length}`, () => this.inner.recordOnAir(structuredClone(rows)));
  }
  onAirTotals(show: string, epoch: string): Promise<OnAirTotal[]> {
    return this.link.call(`onAirTotals ${show}`, () => this.inner.onAirTotals(show, epoch));
  }
  fleetSecret(name: string, candidate: Buffer): Promise<Buffer> {
    return this.link.call(`fleetSecret ${name}`, () => this.inner.fleetSecret(name, candidate));
  }
  ping(): Promise<void> {
    return this.link.call("ping", () => this.inner.ping());
  }
  async close(): Promise<void> {}
}
