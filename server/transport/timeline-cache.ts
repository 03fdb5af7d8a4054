/**
 * Timeline answers shared per node: one record query per (show, epoch, act, interval) per
 * TIMELINE_CACHE_MS after the last one arrived, however many callers (concurrent callers share the query in flight). A
 * failed query is not cached. At most 1,024 keys; the oldest is dropped first (answer-cache.ts).
 */
import type { AuditSource } from "../audit/export-stream.ts";
import { AnswerCache } from "./answer-cache.ts";

export const TIMELINE_CACHE_MS = 1000;

type Points = Array<[number, number]>;

export class TimelineCache {
  private readonly answers: AnswerCache<Points>;

  constructor(
    private readonly onQuery: () => void,
    clock: () => number = Date.now,
  ) {
    this.answers = new AnswerCache<Points>(TIMELINE_CACHE_MS, 1024, clock);
  }

  get(source: Pick<AuditSource, "timeline">, show: string, epoch: string, act: string, intervalMs: number): Promise<Points> {
    return this.answers.get(`${show}\n${epoch}\n${act}\n${intervalMs}`, () => {
      this.onQuery();
      return source.timeline(show, epoch, act, intervalMs);
    });
  }
}
