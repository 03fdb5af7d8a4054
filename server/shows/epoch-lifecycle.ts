/**
 * The one owner of show-epoch retirement within a component. Every per-epoch map of the component
 * registers with its lifecycle, which tells each of them when an epoch retires; a map then drops
 * what it keeps for that epoch by its own rule (at once, or once nothing of it is in flight).
 *
 * Each component has one lifecycle, fed by whoever knows its retirement instant:
 *  - counting (show-counts.ts): the show registry's epoch changes (`follow`), in the same
 *    synchronous step as the reset is announced, before any later buzz is handled;
 *  - a store (memory, atomic, shared): the flush that names the epoch `retired` (`retire`), the
 *    last flush naming it, so every delta drained before the reset is applied first;
 *  - the workers' supervisor (cluster/supervisor.ts): every saved show change (`follow`).
 *
 * Guarantees:
 *  - Every holder registered is told of each retired epoch exactly once, in registration order,
 *    synchronously inside `retire` (or `follow`).
 *  - `isRetired` is true from `retire` on for as long as any holder still holds something of the
 *    epoch (`holds`), so an entry created late for a retired epoch (a claim the record accepted
 *    after the reset) is created retired and dropped when settled; after that the epoch is
 *    forgotten here too (`sweep`): memory follows the live epochs, not history.
 *  - `follow(show, epoch)` retires the show's previous epoch when it moves on; `isCurrent` answers
 *    whether an epoch is the show's current one as last followed.
 */
import { epochKey } from "./epoch-key.ts";

export interface EpochHolder {
  /** The epoch will not be named again: drop what is kept for it, at once or once it is settled. */
  retire(show: string, epoch: string): void;
  /** Whether something of the epoch is still kept (absent: nothing once told it retired). */
  holds?(show: string, epoch: string): boolean;
}

export class EpochLifecycle {
  private readonly holders: EpochHolder[] = [];
  /** Retired epochs (epochKey) some holder may still hold something of. */
  private readonly retiring = new Map<string, { show: string; epoch: string }>();
  /** Per show, its current epoch as last followed. */
  private readonly currentOf = new Map<string, string>();

  /** Register a per-epoch map; returns it. */
  register<H extends EpochHolder>(holder: H): H {
    this.holders.push(holder);
    return holder;
  }

  /** The epoch retires: every holder is told now (once per epoch). */
  retire(show: string, epoch: string): void {
    const k = epochKey(show, epoch);
    if (this.retiring.has(k)) return;
    this.retiring.set(k, { show, epoch });
    if (this.currentOf.get(show) === epoch) this.currentOf.delete(show);
    for (const h of this.holders) h.retire(show, epoch);
    this.sweep();
  }

  /** The show is now at `epoch`: its previous epoch (if another) retires. */
  follow(show: string, epoch: string): void {
    const was = this.currentOf.get(show);
    if (was === epoch) return;
    this.currentOf.set(show, epoch);
    if (was !== undefined) this.retire(show, was);
  }

  /** Whether `epoch` is the show's current epoch as last followed. */
  isCurrent(show: string, epoch: string): boolean {
    return this.currentOf.get(show) === epoch;
  }

  /** Whether the epoch retired and something of it is still held somewhere. */
  isRetired(show: string, epoch: string): boolean {
    return this.retiring.has(epochKey(show, epoch));
  }

  /** Forget retired epochs no holder holds anything of any more (call after holders prune). */
  sweep(): void {
    for (const [k, { show, epoch }] of this.retiring) {
      if (!this.holders.some((h) => h.holds?.(show, epoch) === true)) this.retiring.delete(k);
    }
  }

  /** Retired epochs still remembered (bounded by those something still holds). */
  get retiredHeld(): number {
    return this.retiring.size;
  }
}
