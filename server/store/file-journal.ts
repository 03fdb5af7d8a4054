/**
 * The journal on local disk (journal.ts says what it is for; journal-file.ts the format).
 *
 * Guarantees:
 *  - appendSync and append write the line with one write(2) before returning (so a SIGKILL of
 *    the process after that keeps it: it is in the kernel), then sync it (fdatasync) before
 *    returning or resolving when `fsync` is on, so a crash of the host keeps it too.
 *  - Lines are written in call order; a group of appends made before one sync is committed by it.
 *  - Compaction (once the file has grown by `compactBytes` since the last, at a commit, with no
 *    sync in flight): the file is replaced atomically by a header whose base is the committed seq
 *    and the buzzes no committed batch holds; a crash during it leaves the old file or the new one.
 *  - Any I/O error throws (or rejects with) JournalError "io": the caller must not acknowledge.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { CountRow } from "../record/record.ts";
import type { QueuedAudit } from "./audit-queue.ts";
import { JournalError, type Journal, type JournalStats } from "./journal.ts";
import { appendRecord, encodeRecord, intentRecord, PendingBuzzes, writeJournalFile, type JournalRecord } from "./journal-file.ts";

/** Compact once this many bytes were appended since the last compaction (default). */
const COMPACT_BYTES = 8 * 1024 * 1024;

export interface FileJournalOptions {
  path: string;
  node: string;
  /** The highest batch seq of this node the record holds now (the fresh file's base). */
  base: number;
  /** fdatasync every append before acknowledging (JOURNAL_FSYNC). Off: a process kill keeps what was written, a host crash may not. */
  fsync: boolean;
  /** Compact after this many bytes appended (default 8 MiB). */
  compactBytes?: number;
}

export class FileJournal implements Journal {
  private fd: number;
  private readonly pending = new PendingBuzzes();
  private committedSeq: number;
  private sinceCompact = 0;
  private syncing = 0;
  private closed = false;
  private readonly s: JournalStats = { syncs: 0, syncSeconds: 0, maxSyncSeconds: 0, bytes: 0, compactions: 0, uncommitted: 0 };

  /** Starts a fresh, empty journal at `path` (any previous one must have been replayed). */
  constructor(private readonly opts: FileJournalOptions) {
    this.committedSeq = opts.base;
    writeJournalFile(opts.path, [this.header()]);
    this.fd = this.openAppend();
  }

  appendSync(entries: readonly QueuedAudit[]): void {
    if (entries.length === 0) return;
    const r = appendRecord(entries);
    this.write(r);
    this.pending.push(r);
    if (!this.opts.fsync) return;
    const t0 = performance.now();
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      throw new JournalError("io", `cannot sync the journal ${this.opts.path}`, { cause: err });
    }
    this.synced(t0);
  }

  append(entries: readonly QueuedAudit[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const r = appendRecord(entries);
    this.write(r);
    this.pending.push(r);
    return this.sync();
  }

  intent(seq: number, rows: readonly CountRow[]): Promise<void> {
    this.write(intentRecord(seq, rows));
    return this.sync();
  }

  committed(seq: number, rows: readonly CountRow[]): void {
    this.pending.take(rows);
    this.committedSeq = seq;
    if (this.sinceCompact >= (this.opts.compactBytes ?? COMPACT_BYTES) && this.syncing === 0) this.compact();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pending.size === 0 && this.syncing === 0) this.compact();
    closeSync(this.fd);
  }

  stats(): JournalStats {
    return { ...this.s, uncommitted: this.pending.size };
  }

  /** Buzzes a batch took that were never journaled (0 unless a flush bypassed the journal). */
  get shortfall(): number {
    return this.pending.shortfall;
  }

  private header(): JournalRecord {
    return { t: "h", v: 1, node: this.opts.node, base: this.committedSeq };
  }

  private write(r: JournalRecord): void {
    const buf = encodeRecord(r);
    try {
      writeSync(this.fd, buf);
    } catch (err) {
      throw new JournalError("io", `cannot append to the journal ${this.opts.path}`, { cause: err });
    }
    this.s.bytes += buf.length;
    this.sinceCompact += buf.length;
  }

  private sync(): Promise<void> {
    if (!this.opts.fsync) return Promise.resolve();
    this.syncing++;
    const t0 = performance.now();
    return new Promise((resolve, reject) =>
      fdatasync(this.fd, (err) => {
        this.syncing--;
        if (err) return reject(new JournalError("io", `cannot sync the journal ${this.opts.path}`, { cause: err }));
        this.synced(t0);
        resolve();
      }),
    );
  }

  private synced(t0: number): void {
    const s = (performance.now() - t0) / 1000;
    this.s.syncs++;
    this.s.syncSeconds += s;
    this.s.maxSyncSeconds = Math.max(this.s.maxSyncSeconds, s);
  }

  private compact(): void {
    const held = this.pending.asRecord();
    writeJournalFile(this.opts.path, held.e.length > 0 ? [this.header(), held] : [this.header()]);
    closeSync(this.fd);
    this.fd = this.openAppend();
    this.sinceCompact = 0;
    this.s.compactions++;
  }

  private openAppend(): number {
    try {
      return openSync(this.opts.path, "a");
    } catch (err) {
      throw new JournalError("io", `cannot open the journal ${this.opts.path}`, { cause: err });
    }
  }
}
