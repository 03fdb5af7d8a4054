/**
 * The audience across nodes, summed in memcached with no per-connection work.
 *
 * Time is cut into aligned windows of WINDOW_MS (1 s, multiples since the Unix epoch). In each
 * window every unit (node, or worker of a shared-mode node) adds its viewer count of each show to
 * the window's key `<prefix>:aud:<show>:<window>` once (incr; add when missing), and reads the
 * previous window's keys once: every unit added to those at its first tick of that window, a full
 * window earlier, so the sum is complete. Keys expire after TTL_SEC.
 *
 * Cost per unit: per show with viewers, 1-3 operations per window (incr; add and incr again only
 * for the first unit of a window); one pipelined read per window. Not on the tick's path: the
 * work runs in the background and the tick uses the last sums.
 * Freshness: a change is in the sums 1-2 windows later. A unit that dies drops out of the next
 * window's sum by itself (nothing to clean up). Clock skew between units of s ms shifts which
 * window their add lands in by s; under half a window it changes nothing.
 * On a cache error the last sums stay (counted, logged once per outage).
 */
import type { Cache } from "../cache/cache.ts";
import type { Logger } from "../ops/logger.ts";

const WINDOW_MS = 1000;
const TTL_SEC = 10;

export class SharedAudience {
  private added = -1;
  private read = -1;
  private busy = false;
  private failing = false;
  private fleet: ReadonlyMap<string, number> = new Map();
  /** Cache operations issued, and syncs that failed (metrics). */
  readonly counts = { ops: 0, errors: 0 };

  constructor(
    private readonly global: Cache,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** Once per tick: this unit's viewers per show; answers the last complete sums at once. */
  watching(local: ReadonlyMap<string, number>, nowMs: number): ReadonlyMap<string, number> {
    const w = Math.floor(nowMs / WINDOW_MS);
    if (!this.busy && (this.added !== w || this.read !== w - 1)) {
      this.busy = true;
      this.sync(new Map(local), w)
        .then(
          () => {
            if (this.failing) this.log.info("audience sums available again");
            this.failing = false;
          },
          (err: unknown) => {
            this.counts.errors++;
            if (!this.failing) this.log.warn("audience sums unavailable; keeping the last ones", { err });
            this.failing = true;
          },
        )
        .finally(() => {
          this.busy = false;
        });
    }
    return this.fleet;
  }

  private key(show: string, window: number): string {
    return `${this.prefix}:aud:${show}:${window}`;
  }

  private async sync(local: ReadonlyMap<string, number>, w: number): Promise<void> {
    if (this.added !== w) {
      await Promise.all([...local].filter(([, n]) => n > 0).map(([show, n]) => this.add(this.key(show, w), n)));
      this.added = w;
    }
    if (this.read !== w - 1) {
      const shows = [...local.keys()];
      this.counts.ops += shows.length;
      const got = await this.global.getMany(shows.map((s) => this.key(s, w - 1)));
      this.fleet = new Map(shows.map((s) => [s, Number(got.get(this.key(s, w - 1)) ?? 0)]));
      this.read = w - 1;
    }
  }

  /** incr, or create with add; if another unit created it meanwhile, incr again. */
  private async add(key: string, n: number): Promise<void> {
    this.counts.ops++;
    if ((await this.global.incr(key, n)) !== null) return;
    this.counts.ops++;
    if (await this.global.add(key, String(n), TTL_SEC)) return;
    this.counts.ops++;
    await this.global.incr(key, n);
  }
}
