/**
 * Start-up of a node with a journal: replay what its previous life journaled and the record did
 * not commit, then start a fresh journal. Runs before the node takes viewers.
 *
 * Exactness: the record's last batch seq for this node says which batch intents committed; the
 * journaled buzzes those batches did not take (per key, the newest ones) go into the record as
 * one batch numbered after the last, with their audit rows. Batches are idempotent by seq, so a
 * replay cut short (killed again, or the record failing) is simply done again at the next start.
 *
 * Refused (JournalError, the node does not start): a journal of another node, or one whose base
 * is above the record's last seq for this node (the record lost committed batches: restored from
 * a backup, or another database). docs/operations.md says what an operator does.
 */
import type { Logger } from "../ops/logger.ts";
import type { Record } from "../record/record.ts";
import { FileJournal } from "./file-journal.ts";
import { JournalError } from "./journal.ts";
import { PendingBuzzes, readJournal, type JournalRecord } from "./journal-file.ts";

export interface ReplayOptions {
  path: string;
  node: string;
  fsync: boolean;
  compactBytes?: number;
}

export interface Replayed {
  journal: FileJournal;
  /** Buzzes put into the record from the previous life's journal. */
  buzzes: number;
}

export async function replayAndOpen(record: Record, opts: ReplayOptions, log: Logger): Promise<Replayed> {
  const found = readJournal(opts.path);
  let last = await record.lastBatchSeq(opts.node);
  let buzzes = 0;
  if (found) {
    if (found.header.node !== opts.node)
      throw new JournalError("foreign", `journal ${opts.path} belongs to node ${found.header.node}, not ${opts.node}`);
    if (last < found.header.base)
      throw new JournalError(
        "foreign",
        `journal ${opts.path} says the record held batch ${found.header.base} of ${opts.node}, the record's last is ${last}: not the record this journal was written for`,
      );
    const pending = new PendingBuzzes();
    const intents = new Map<number, Extract<JournalRecord, { t: "b" }>>();
    for (const r of found.records) {
      if (r.t === "a") pending.push(r);
      else if (r.t === "b") intents.set(r.seq, r);
    }
    // A batch takes the oldest journaled buzzes of each key and the queues only grow at the back,
    // so taking the committed batches at the end leaves what taking them in their place would.
    for (const seq of [...intents.keys()].sort((a, b) => a - b)) {
      if (seq <= found.header.base || seq > last) continue;
      const rows = intents.get(seq)!.rows.map(([show, epoch, act, delta]) => ({ show, epoch, act, delta }));
      pending.take(rows);
    }
    buzzes = pending.size;
    if (buzzes > 0) {
      const batch = pending.asBatch(opts.node, last + 1);
      await record.persistCounts(batch);
      last = batch.batchSeq;
      log.warn("journal replayed into the record", { node: opts.node, buzzes, batchSeq: last, keys: batch.rows.length });
    }
    if (pending.shortfall > 0) log.error("journal: committed batches took more than was journaled", { shortfall: pending.shortfall });
  }
  const journal = new FileJournal({
    path: opts.path,
    node: opts.node,
    base: last,
    fsync: opts.fsync,
    ...(opts.compactBytes ? { compactBytes: opts.compactBytes } : {}),
  });
  return { journal, buzzes };
}
