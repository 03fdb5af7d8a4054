/**
 * The embedded default record: everything in this process's memory, same semantics as
 * MysqlRecord (batch idempotency by per-node seq, newer-version-wins shows, stage history).
 * Guarantees: every method applies atomically (no await inside a mutation). Durability: none,
 * everything is lost when the process exits; it is meant for a single node without MYSQL_URL.
 */
import { checkShowRecord, normalizeBatch, stageChanged } from "./normalize.ts";
import { RecordError, type CountBatch, type Record, type ShowRecord, type StageChange } from "./record.ts";

/** show -> epoch -> act -> node -> count */
type CountTree = Map<string, Map<string, Map<string, Map<string, number>>>>;

function child<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

function copyShow(r: ShowRecord): ShowRecord {
  return {
    show: { id: r.show.id, title: r.show.title, acts: r.show.acts.map((a) => ({ id: a.id, name: a.name })) },
    stage: { act: r.stage.act, open: r.stage.open },
    epoch: r.epoch,
    version: r.version,
  };
}

export class MemoryRecord implements Record {
  private readonly counts: CountTree = new Map();
  private readonly lastSeq = new Map<string, number>();
  private readonly shows = new Map<string, ShowRecord>();
  private readonly history = new Map<string, StageChange[]>();
  private closed = false;

  private open(): void {
    if (this.closed) throw new RecordError("unreachable", "record is closed");
  }

  async migrate(): Promise<void> {
    this.open();
  }

  async persistCounts(batch: CountBatch): Promise<void> {
    this.open();
    const rows = normalizeBatch(batch);
    if (batch.batchSeq <= (this.lastSeq.get(batch.node) ?? 0)) return;
    for (const r of rows) {
      const byEpoch = child(this.counts, r.show, () => new Map<string, Map<string, Map<string, number>>>());
      const byAct = child(byEpoch, r.epoch, () => new Map<string, Map<string, number>>());
      const byNode = child(byAct, r.act, () => new Map<string, number>());
      byNode.set(batch.node, (byNode.get(batch.node) ?? 0) + r.delta);
    }
    this.lastSeq.set(batch.node, batch.batchSeq);
  }

  async lastBatchSeq(node: string): Promise<number> {
    this.open();
    return this.lastSeq.get(node) ?? 0;
  }

  async countTotals(show: string, epoch: string): Promise<Map<string, number>> {
    this.open();
    const out = new Map<string, number>();
    for (const [act, byNode] of this.counts.get(show)?.get(epoch) ?? []) {
      let sum = 0;
      for (const n of byNode.values()) sum += n;
      out.set(act, sum);
    }
    return out;
  }

  async saveShow(rec: ShowRecord): Promise<void> {
    this.open();
    const next = checkShowRecord(rec);
    const prev = this.shows.get(next.show.id) ?? null;
    if (prev !== null && prev.version >= next.version) return;
    this.shows.set(next.show.id, next);
    if (stageChanged(prev, next)) {
      child(this.history, next.show.id, () => []).push({
        epoch: next.epoch,
        act: next.stage.act,
        open: next.stage.open,
        version: next.version,
        at: Date.now(),
      });
    }
  }

  async loadShow(id: string): Promise<ShowRecord | null> {
    this.open();
    const r = this.shows.get(id);
    return r ? copyShow(r) : null;
  }

  async listShows(): Promise<ShowRecord[]> {
    this.open();
    return [...this.shows.values()].sort((a, b) => (a.show.id < b.show.id ? -1 : a.show.id > b.show.id ? 1 : 0)).map(copyShow);
  }

  async stageHistory(show: string): Promise<StageChange[]> {
    this.open();
    return (this.history.get(show) ?? []).map((h) => ({ ...h }));
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
