/**
 * A counter's audit queue (counter-state.ts `CounterState.audit`): who cast the buzzes that arrived
 * and are not in a record batch yet, oldest first. The queue is written only through CounterTable's
 * methods, which apply the functions here to the counter's own queue; the journal writes the same
 * entries, in the same order (`deltaEntries`), before the acks of those buzzes go out.
 */
import type { AuditEntry } from "../record/record.ts";
import type { ShowFlush } from "./store.ts";

/** An audit entry waiting in a counter's queue; `once` entries count 1 and become `once` rows. */
export interface QueuedAudit extends Readonly<AuditEntry> {
  readonly once: boolean;
}

/**
 * `unlimited` audit: the entries for `delta` buzzes of one act, appended to `out`: one per viewer,
 * the buzzes without a viewer as viewer "?".
 */
export function viewerEntries(
  at: { readonly show: string; readonly epoch: string; readonly act: string },
  viewers: ReadonlyMap<string, number> | undefined,
  delta: number,
  now: number,
  out: QueuedAudit[],
): void {
  let left = delta;
  for (const [viewer, count] of viewers ?? []) {
    out.push({ show: at.show, epoch: at.epoch, act: at.act, viewer, atMs: now, count, once: false });
    left -= count;
  }
  if (left > 0) out.push({ show: at.show, epoch: at.epoch, act: at.act, viewer: "?", atMs: now, count: left, once: false });
}

/** The audit entries a counter queues for a batch's deltas, in the same order (the journal's). */
export function deltaEntries(batch: readonly ShowFlush[], now: number): QueuedAudit[] {
  const out: QueuedAudit[] = [];
  for (const f of batch)
    for (const d of f.deltas) viewerEntries({ show: f.show, epoch: f.epoch, act: d.act }, d.viewers, d.delta, now, out);
  return out;
}

/**
 * Take `n` buzzes' entries off the head of `queue`, oldest first: an entry the count ends inside is
 * taken in part and its remainder stays queued. `short`: how many buzzes the queue lacked.
 */
export function takeEntries(queue: QueuedAudit[], n: number): { taken: QueuedAudit[]; short: number } {
  const taken: QueuedAudit[] = [];
  let left = n;
  let whole = 0;
  while (left > 0 && whole < queue.length) {
    const q = queue[whole] as QueuedAudit;
    const part = Math.min(q.count, left);
    if (part === q.count) whole++;
    else queue[whole] = { ...q, count: q.count - part };
    taken.push(part === q.count ? q : { ...q, count: part });
    left -= part;
  }
  queue.splice(0, whole);
  return { taken, short: left };
}
