/**
 * One answer per key shared by every caller for `ttlMs` after it arrived (concurrent callers share
 * the load in flight): N callers of one key cost at most one load per `ttlMs` plus the load's time. A failed load is not kept (the next
 * caller tries again). At most `maxEntries` keys; the oldest is dropped first.
 */
export class AnswerCache<T> {
  private readonly entries = new Map<string, { at: number; answer: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1024,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.answer;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const answer = load();
    const entry = { at: now, answer };
    this.entries.set(key, entry);
    // The answer is kept for ttlMs after it ARRIVED: a load slower than ttlMs (a heavy query on a
    // busy record) is not started again the moment it lands, so loads of one key fill at most
    // about half the time, whatever the number of callers.
    answer.then(
      () => {
        entry.at = this.clock();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return answer;
  }
}
