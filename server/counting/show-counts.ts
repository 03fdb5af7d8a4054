/**
 * This process's counting state per show: the tally of the current epoch and the act table over it.
 * Created when the registry announces a show; kept in step with it by the registry's change events
 * (synchronously, before any later buzz is handled):
 *  - definition edit (same epoch): a new act table over the same tally, so undrained deltas of
 *    every act (even a removed one) are kept and drained at the next tick;
 *  - reset (new epoch): counting's epoch lifecycle (shows/epoch-lifecycle.ts) retires the old
 *    epoch in every holder, in this order: the old tally is retired (drained once more by the next
 *    flush, then dropped) and a new tally starts; the `once` policy forgets the old epoch.
 * So memory is bounded by the live show epochs, however many resets happen.
 */
import type { Show } from "../shows/show.ts";
import type { ShowRegistry } from "../shows/show-registry.ts";
import { EpochLifecycle } from "../shows/epoch-lifecycle.ts";
import { ActTable } from "./act-table.ts";
import type { BuzzPolicy } from "./buzz-policy.ts";
import { Tally } from "./tally.ts";

export class ShowCounts {
  tally: Tally;
  table: ActTable;

  constructor(
    readonly show: Show,
    private readonly auditViewers = false,
  ) {
    this.tally = new Tally(show.id, show.epoch, auditViewers);
    this.table = new ActTable(
      show.info.acts.map((a) => a.id),
      this.tally,
    );
  }

  /** The show's definition changed (same epoch): same tally, new table. */
  redefine(): void {
    this.table = new ActTable(
      this.show.info.acts.map((a) => a.id),
      this.tally,
    );
  }

  /** The show entered a new epoch; returns the old tally. */
  newEpoch(): Tally {
    const old = this.tally;
    this.tally = new Tally(this.show.id, this.show.epoch, this.auditViewers);
    this.table = new ActTable(
      this.show.info.acts.map((a) => a.id),
      this.tally,
    );
    return old;
  }
}

export class Counting {
  private readonly byId = new Map<string, ShowCounts>();
  /** Tallies of epochs replaced by a reset; drained once more by the tick loop, then dropped. */
  private retired: Tally[] = [];
  /** Follows each show's epoch (the registry's resets) and retires the previous one in every holder. */
  readonly epochs = new EpochLifecycle();

  /** `auditViewers`: tallies count per viewer too (the store keeps an `unlimited` audit log). */
  constructor(
    shows: ShowRegistry,
    private readonly policy: BuzzPolicy,
    private readonly auditViewers = false,
  ) {
    this.epochs.register({
      retire: (show, epoch) => {
        const c = this.byId.get(show);
        if (c && c.tally.epoch === epoch) this.retired.push(c.newEpoch());
      },
    });
    this.epochs.register(policy);
    for (const s of shows.all()) this.of(s);
    shows.onChange((show, changes) => {
      const c = this.byId.get(show.id);
      if (!c) return void this.of(show);
      if (changes.has("epoch")) this.epochs.follow(show.id, show.epoch);
      else if (changes.has("show")) c.redefine();
    });
  }

  /** The counting state of a show (every show the registry announced has one). */
  of(show: Show): ShowCounts {
    let c = this.byId.get(show.id);
    if (!c) {
      this.byId.set(show.id, (c = new ShowCounts(show, this.auditViewers)));
      this.epochs.follow(show.id, show.epoch);
    }
    return c;
  }

  all(): IterableIterator<ShowCounts> {
    return this.byId.values();
  }

  /** Retired tallies, handed over once. */
  takeRetired(): Tally[] {
    const r = this.retired;
    this.retired = [];
    return r;
  }
}
