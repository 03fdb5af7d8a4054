/**
 * Timeline answers shared per node: one record query per (show, epoch, act, interval) per
 * TIMELINE_CACHE_MS, however many callers (concurrent callers share the query in flight). A
 * failed query is not cached. At most MAX_ENTRIES keys; the oldest is dropped first.
 */
import type { AuditSource } from "../audit/export-stream.ts";

export const TIMELINE_CACHE_MS = 1000;
const MAX_ENTRIES = 1024;

type Points = Array<[number, number]>;

export class TimelineCache {
  private readonly entries = new Map<string, { at: number; points: Promise<Points> }>();

  constructor(private readonly onQuery: () => void) {}

  get(
    source: Pick<AuditSource, "timeline">,
    show: string,
    epoch: string,
    act: string,
    intervalMs: number,
    now = Date.now(),
  ): Promise<Points> {
    const key = `${show}\n${epoch}\n${act}\n${intervalMs}`;
    const hit = this.entries.get(key);
    if (hit && now - hit.at < TIMELINE_CACHE_MS) return hit.points;
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.onQuery();
    const points = source.timeline(show, epoch, act, intervalMs);
    this.entries.set(key, { at: now, points });
    points.catch(() => {
      if (this.entries.get(key)?.points === points) this.entries.delete(key);
    });
    return points;
  }
}
