/**
 * Shows in the embedded default with several workers: the supervisor keeps the one copy and relays
 * every change to every worker. A change is acknowledged once the supervisor has applied it, and
 * reaches the other workers at their next poll (one tick). The supervisor decides every save with
 * the compare-and-swap rule (its show-source.ts `ShowBook`), one message at a time, so two workers'
 * changes from one version never both pass.
 */
import type { SaveShowResult, ShowRecord } from "../record/record.ts";
import type { ShowSource } from "./show-source.ts";

export interface ShowRelay {
  save(rec: ShowRecord, base: number | null): Promise<SaveShowResult>;
  loadAll(): Promise<ShowRecord[]>;
}

export class ThreadShowSource implements ShowSource {
  private inbox: ShowRecord[] = [];

  constructor(private readonly relay: ShowRelay) {}

  /** Called for every change the supervisor relays (including this worker's own). */
  receive(rec: ShowRecord): void {
    this.inbox.push(rec);
  }

  loadAll(): Promise<ShowRecord[]> {
    return this.relay.loadAll();
  }

  async load(id: string): Promise<ShowRecord | null> {
    return (await this.relay.loadAll()).find((r) => r.show.id === id) ?? null;
  }

  current(id: string): Promise<ShowRecord | null> {
    return this.load(id);
  }

  save(rec: ShowRecord, base: number | null): Promise<SaveShowResult> {
    return this.relay.save(rec, base);
  }

  async poll(): Promise<ShowRecord[]> {
    const got = this.inbox;
    this.inbox = [];
    return got;
  }
}
