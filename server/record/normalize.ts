/**
 * Input rules shared by every Record implementation, so they accept and reject exactly the same
 * batches and shows. Pure functions; nothing here touches storage.
 */
import { ScheduledStage, ShowInfo, Stage } from "../../shared/protocol.ts";
import { RecordError, type CountBatch, type ShowRecord } from "./record.ts";

/** Longest node id and epoch the record stores (MySQL column widths). */
export const MAX_NODE_LEN = 128;
export const MAX_EPOCH_LEN = 64;
export const MAX_KEY_LEN = 64;

export interface NormalRow {
  show: string;
  epoch: string;
  act: string;
  delta: number;
}

function checkText(what: string, v: string, max: number): void {
  if (typeof v !== "string" || v.length === 0 || v.length > max) {
    throw new RecordError("query", `${what} must be a string of 1-${max} characters`);
  }
}

/** Total order over (show, epoch, act): the lock order every node uses (avoids most deadlocks). */
export function compareRowKeys(a: NormalRow, b: NormalRow): number {
  if (a.show !== b.show) return a.show < b.show ? -1 : 1;
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.act !== b.act) return a.act < b.act ? -1 : 1;
  return 0;
}

/**
 * Validates a batch and returns its rows with duplicate keys summed, zero deltas dropped, sorted
 * by compareRowKeys. Throws RecordError "query" (nothing applied) on any invalid field.
 */
export function normalizeBatch(batch: CountBatch): NormalRow[] {
  checkText("node", batch.node, MAX_NODE_LEN);
  if (!Number.isSafeInteger(batch.batchSeq) || batch.batchSeq < 1) {
    throw new RecordError("query", `batchSeq must be a positive safe integer, got ${String(batch.batchSeq)}`);
  }
  const merged = new Map<string, NormalRow>();
  for (const r of batch.rows) {
    checkText("show", r.show, MAX_KEY_LEN);
    checkText("epoch", r.epoch, MAX_EPOCH_LEN);
    checkText("act", r.act, MAX_KEY_LEN);
    if (!Number.isSafeInteger(r.delta) || r.delta < 0) {
      throw new RecordError("query", `delta must be a non-negative safe integer, got ${String(r.delta)}`);
    }
    if (r.delta === 0) continue;
    // JSON of the tuple is an unambiguous composite key (ids may contain any character).
    const key = JSON.stringify([r.show, r.epoch, r.act]);
    const prev = merged.get(key);
    if (prev) {
      prev.delta += r.delta;
      if (!Number.isSafeInteger(prev.delta)) throw new RecordError("query", "summed delta exceeds 2^53");
    } else {
      merged.set(key, { show: r.show, epoch: r.epoch, act: r.act, delta: r.delta });
    }
  }
  return [...merged.values()].sort(compareRowKeys);
}

/** Validates a show record; returns a deep copy the caller cannot mutate afterwards. */
export function checkShowRecord(rec: ShowRecord): ShowRecord {
  const show = ShowInfo.safeParse(rec.show);
  if (!show.success) throw new RecordError("query", `invalid show: ${show.error.message}`);
  const stage = Stage.safeParse(rec.stage);
  if (!stage.success) throw new RecordError("query", `invalid stage: ${stage.error.message}`);
  checkText("epoch", rec.epoch, MAX_EPOCH_LEN);
  if (!Number.isSafeInteger(rec.version) || rec.version < 0) {
    throw new RecordError("query", `version must be a non-negative safe integer, got ${String(rec.version)}`);
  }
  let next: ScheduledStage | null = null;
  if (rec.next !== undefined && rec.next !== null) {
    const n = ScheduledStage.safeParse(rec.next);
    if (!n.success) throw new RecordError("query", `invalid scheduled stage: ${n.error.message}`);
    next = { act: n.data.act, open: n.data.open, at: n.data.at };
  }
  return {
    show: { id: show.data.id, title: show.data.title, acts: show.data.acts.map((a) => ({ id: a.id, name: a.name })) },
    stage: { act: stage.data.act, open: stage.data.open },
    epoch: rec.epoch,
    version: rec.version,
    ...(next !== null ? { next } : {}),
  };
}

/**
 * The one compare-and-swap rule on show versions, for every place that decides a change (the
 * record's row lock, the supervisor's map, one process's map): a change made from version `base`
 * (null: no show yet) to `version` is stored only if the stored version is still exactly `base`
 * and `version` is above it.
 */
export function casAccepts(stored: number | null, version: number, base: number | null): boolean {
  return stored === base && version > (base ?? -1);
}

/**
 * The saveShow rule (record.ts): may `next` replace the stored version `stored` (null: no row)?
 * With `base`: only when `stored` is exactly `base`; `next.version` must be above `base` (else
 * RecordError "query"). Without: only when `next.version` is above `stored`.
 */
export function mayReplace(stored: number | null, next: ShowRecord, base: number | null | undefined): boolean {
  if (base === undefined) return stored === null || stored < next.version;
  checkBase(next, base);
  return casAccepts(stored, next.version, base);
}

/** Throws RecordError "query" unless `next.version` is above `base` (checked before any storage is touched). */
export function checkBase(next: ShowRecord, base: number | null | undefined): void {
  if (base === undefined || base === null) return;
  if (!Number.isSafeInteger(base) || next.version <= base) {
    throw new RecordError("query", `version ${next.version} must be above the base version ${String(base)}`);
  }
}

/** The stored stage state of a show, as saveShow compares it. */
export interface StageState {
  stage: Stage;
  epoch: string;
  next?: ScheduledStage | null;
}

/**
 * The stage history row that saving `next` over `prev` (null = first save) appends, or null.
 * `next.version` is the commit instant (versions are wall-clock ms): a change `prev` scheduled at or
 * before it has taken effect. A row is due when the epoch, or the stage the show is heading for
 * (`next` if scheduled, else `stage`) or its instant changed; `at` is that instant, or `nowMs`
 * (the record's clock) for an immediate change.
 */
export function historyRow(
  prev: StageState | null,
  next: ShowRecord,
  nowMs: number,
): { act: string | null; open: boolean; at: number } | null {
  const to = next.next ?? null;
  const target = to ?? next.stage;
  if (prev !== null && prev.epoch === next.epoch) {
    const pending = prev.next !== undefined && prev.next !== null && prev.next.at > next.version ? prev.next : null;
    const from = pending ?? prev.next ?? prev.stage;
    const sameTarget = from.act === target.act && from.open === target.open;
    if (sameTarget && (pending?.at ?? null) === (to?.at ?? null)) return null;
  }
  return { act: target.act, open: target.open, at: to?.at ?? nowMs };
}
