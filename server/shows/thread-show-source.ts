/**
 * Shows in the embedded default with several workers: the supervisor keeps the one copy and relays
 * every change to every worker. A change is acknowledged once the supervisor has applied it, and
 * reaches the other workers at their next poll (one tick).
 */
import type { ShowRecord } from "../record/record.ts";
import type { ShowSource } from "./show-source.ts";

export interface ShowRelay {
  save(rec: ShowRecord): Promise<void>;
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

  save(rec: ShowRecord): Promise<void> {
    return this.relay.save(rec);
  }

  async poll(): Promise<ShowRecord[]> {
    const got = this.inbox;
    this.inbox = [];
    return got;
  }
}
