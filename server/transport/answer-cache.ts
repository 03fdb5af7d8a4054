/**
 * One answer per key shared by every caller for `ttlMs` (concurrent callers share the load in
 * flight): N callers of one key cost one load per `ttlMs`. A failed load is not kept (the next
 * caller tries again). At most `maxEntries` keys; the oldest is dropped first.
 */
export class AnswerCache<T> {
  private readonly entries = new Map<string, { at: number; answer: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1024,
  ) {}

  get(key: string, load: () => Promise<T>, now = Date.now()): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.answer;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const answer = load();
    this.entries.set(key, { at: now, answer });
    answer.catch(() => {
      if (this.entries.get(key)?.answer === answer) this.entries.delete(key);
    });
    return answer;
  }
}
