/**
 * The flush quorum (store/flush-quorum.ts) of an embedded multi-worker node, relayed by the
 * supervisor: each worker thread posts `flushed` after its flush of tick k (its `Atomics.add`s done,
 * so visible to every thread's `Atomics.load`); when every ready worker has posted it for k, the
 * supervisor posts `all-flushed` k to every worker, whose phase 2 then starts at once.
 *
 * Guarantees: `all-flushed` k is posted at most once, and only after every worker that was ready
 * at that moment posted `flushed` k after its adds (structured-clone messages from one thread keep
 * their order, and a thread's adds before its postMessage are visible to a thread that received
 * the message's consequence). Only the latest tick is tracked: a report of an older tick is
 * ignored. A worker that stalls or dies leaves its tick unannounced: phase 2 then runs at
 * PUBLISH_OFFSET_MS; when a worker exits, the tick in progress is checked again without it.
 */
import type { FlushQuorum } from "../store/flush-quorum.ts";

/** Supervisor side: which ready workers flushed the latest tick. */
export class FlushTally {
  private tick = -Infinity;
  private readonly reporters = new Set<number>();
  private announced = false;

  /**
   * `live`: holder ids of the workers that are ready (the ones phase 2 waits for);
   * `announce`: post `all-flushed` to every worker.
   */
  constructor(
    private readonly live: () => readonly number[],
    private readonly announce: (tick: number) => void,
  ) {}

  /** Worker `holder` posted `flushed` for `tick`. */
  flushed(holder: number, tick: number): void {
    if (tick < this.tick) return;
    if (tick > this.tick) {
      this.tick = tick;
      this.reporters.clear();
      this.announced = false;
    }
    this.reporters.add(holder);
    this.check();
  }

  /** Announces the latest tick if every live worker flushed it (also called when a worker left). */
  check(): void {
    if (this.announced || this.reporters.size === 0) return;
    const live = this.live();
    if (live.length === 0 || !live.every((h) => this.reporters.has(h))) return;
    this.announced = true;
    this.announce(this.tick);
  }
}

/** Worker side: posts `flushed`, resolves on the supervisor's `all-flushed`. */
export class ThreadFlushQuorum implements FlushQuorum {
  private readonly waits = new Map<number, (all: boolean) => void>();

  constructor(private readonly postFlushed: (tick: number) => void) {}

  /** Resolves true on `all-flushed` for `tick`; false once a later tick landed or was announced. */
  landed(tick: number): Promise<boolean> {
    this.giveUpBefore(tick);
    this.postFlushed(tick);
    return new Promise((resolve) => this.waits.set(tick, resolve));
  }

  /** The supervisor's `all-flushed`. */
  allFlushed(tick: number): void {
    this.giveUpBefore(tick);
    this.waits.get(tick)?.(true);
    this.waits.delete(tick);
  }

  private giveUpBefore(tick: number): void {
    for (const [t, resolve] of this.waits) {
      if (t >= tick) continue;
      resolve(false);
      this.waits.delete(t);
    }
  }
}
