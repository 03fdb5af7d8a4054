/**
 * The journal's file format and the buzzes it holds that the record may not have yet.
 *
 * One record per line: `<crc32 of the JSON, 8 hex digits> <JSON>\n`. The first line is the header
 * (`{"t":"h","v":1,"node":..,"base":n}`: the record held every batch <= n of this node when the
 * file was written); then, in the order they were made durable:
 *  - `{"t":"a","e":[[show,epoch,act,viewer,count,once,atMs],..]}` counted buzzes, per key oldest first;
 *  - `{"t":"b","seq":n,"rows":[[show,epoch,act,delta],..]}` the intent of record batch n.
 * A crash can tear only the last line (nothing after it was acknowledged): a last line without
 * its newline or checksum is ignored. A bad line before the last is corruption (JournalError).
 * Files are replaced atomically: written beside, synced, renamed over, directory synced.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";
import type { AuditEntry, CountBatch, CountRow } from "../record/record.ts";
import type { QueuedAudit } from "./audit-queue.ts";
import { JournalError } from "./journal.ts";

type Entry = [show: string, epoch: string, act: string, viewer: string, count: number, once: 0 | 1, atMs: number];
type Row = [show: string, epoch: string, act: string, delta: number];

export type JournalRecord = { t: "h"; v: 1; node: string; base: number } | { t: "a"; e: Entry[] } | { t: "b"; seq: number; rows: Row[] };

export function encodeRecord(r: JournalRecord): Buffer {
  const json = JSON.stringify(r);
  return Buffer.from(`${crc32(json).toString(16).padStart(8, "0")} ${json}\n`);
}

export function appendRecord(entries: readonly QueuedAudit[]): Extract<JournalRecord, { t: "a" }> {
  return { t: "a", e: entries.map((q) => [q.show, q.epoch, q.act, q.viewer, q.count, q.once ? 1 : 0, q.atMs]) };
}

export function intentRecord(seq: number, rows: readonly CountRow[]): JournalRecord {
  return { t: "b", seq, rows: rows.map((r) => [r.show, r.epoch, r.act, r.delta]) };
}

/** The header and the records of a journal file; null when there is none. */
export function readJournal(path: string): { header: Extract<JournalRecord, { t: "h" }>; records: JournalRecord[] } | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new JournalError("io", `cannot read the journal ${path}`, { cause: err });
  }
  const lines = text.split("\n");
  const torn = lines.pop(); // "" when the file ends with a newline; otherwise a torn last line
  const records: JournalRecord[] = [];
  lines.forEach((line, i) => {
    const json = line.slice(9);
    const ok = line[8] === " " && crc32(json).toString(16).padStart(8, "0") === line.slice(0, 8);
    if (!ok) {
      if (i === lines.length - 1 && torn === "") return; // a torn last line that happens to end in \n
      throw new JournalError("corrupt", `journal ${path}: line ${i + 1} fails its checksum`);
    }
    records.push(JSON.parse(json) as JournalRecord);
  });
  const header = records.shift();
  if (header?.t !== "h" || header.v !== 1) throw new JournalError("corrupt", `journal ${path}: no header`);
  return { header, records };
}

/** Replace `path` with these records, durably (write beside, sync, rename, sync the directory). */
export function writeJournalFile(path: string, records: readonly JournalRecord[]): void {
  const tmp = `${path}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      for (const r of records) writeSync(fd, encodeRecord(r));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    throw new JournalError("io", `cannot write the journal ${path}`, { cause: err });
  }
}

interface KeyQueue {
  show: string;
  epoch: string;
  act: string;
  q: Entry[];
  /** Buzzes in q. */
  n: number;
}

/**
 * Journaled buzzes no committed batch holds yet, per (show, epoch, act), oldest first: a batch
 * takes its rows' deltas off the front, exactly as the record writer takes them off the counters'
 * audit queues. Memory: the node's uncommitted window.
 */
export class PendingBuzzes {
  private readonly byKey = new Map<string, KeyQueue>();
  /** Buzzes a batch took beyond what was journaled (never, unless a flush bypassed the journal). */
  shortfall = 0;

  push(r: Extract<JournalRecord, { t: "a" }>): void {
    for (const e of r.e) {
      const k = JSON.stringify([e[0], e[1], e[2]]);
      let kq = this.byKey.get(k);
      if (!kq) this.byKey.set(k, (kq = { show: e[0], epoch: e[1], act: e[2], q: [], n: 0 }));
      kq.q.push([...e]);
      kq.n += e[4];
    }
  }

  take(rows: readonly CountRow[]): void {
    for (const r of rows) {
      const k = JSON.stringify([r.show, r.epoch, r.act]);
      const kq = this.byKey.get(k);
      let left = r.delta;
      let taken = 0;
      while (kq && left > 0 && taken < kq.q.length) {
        const e = kq.q[taken]!;
        const n = Math.min(e[4], left);
        if (n === e[4]) taken++;
        else e[4] -= n;
        left -= n;
        kq.n -= n;
      }
      kq?.q.splice(0, taken);
      if (kq && kq.n === 0) this.byKey.delete(k);
      this.shortfall += left;
    }
  }

  get size(): number {
    let n = 0;
    for (const kq of this.byKey.values()) n += kq.n;
    return n;
  }

  /** Everything held, as one append record (for a compacted file). */
  asRecord(): Extract<JournalRecord, { t: "a" }> {
    const e: Entry[] = [];
    for (const kq of this.byKey.values()) e.push(...kq.q);
    return { t: "a", e };
  }

  /** Everything held as one record batch (rows, `once` rows, `unlimited` rows merged per viewer). */
  asBatch(node: string, batchSeq: number): CountBatch {
    const rows: CountRow[] = [];
    const once: AuditEntry[] = [];
    const interval = new Map<string, AuditEntry>();
    for (const kq of this.byKey.values()) {
      rows.push({ show: kq.show, epoch: kq.epoch, act: kq.act, delta: kq.n });
      for (const [show, epoch, act, viewer, count, isOnce, atMs] of kq.q) {
        const e = { show, epoch, act, viewer, atMs, count };
        if (isOnce === 1) once.push(e);
        else {
          const k = JSON.stringify([show, epoch, act, viewer]);
          const prev = interval.get(k);
          if (prev) {
            prev.count += count;
            prev.atMs = Math.min(prev.atMs, atMs);
          } else interval.set(k, e);
        }
      }
    }
    return { node, batchSeq, rows, once, interval: [...interval.values()] };
  }
}
