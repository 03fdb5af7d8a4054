/** Metric families every store reports (read at scrape time; nothing per buzz). */
import type { Family } from "../ops/metrics.ts";
import type { Store } from "./store.ts";

export function storeFamilies(store: Store): Family[] {
  const s = store.stats();
  const g = (name: string, help: string, value: number): Family => ({ name, help, kind: "gauge", samples: [{ value }] });
  return [
    g("buzzcast_store_entries", "Per show/epoch/act entries the store holds in memory (bounded by live show epochs).", s.entries),
    g("buzzcast_store_walked_entries", "Entries the last store flush visited.", s.walked),
    g("buzzcast_store_retained_buzzes", "Buzzes handed to the store but not yet applied to its backend (kept, applied later).", s.retained),
  ];
}
