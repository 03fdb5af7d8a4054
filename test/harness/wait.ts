/**
 * Waiting on a condition instead of sleeping a fixed time: the test goes on the moment the condition
 * holds and fails with a message naming what it waited for (and the last value or error seen) when
 * it never does. The one poll-until of the tests; everything that polls uses it.
 */

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** What is awaited, for the failure message. */
  what: string;
  /** Re-check interval (default 50 ms). */
  intervalMs?: number;
}

/**
 * Resolves with the first value of `get()` that satisfies `ok` (checked at once, then every
 * `intervalMs`). A `get` that throws is retried until the deadline; then its last error is reported,
 * else the last value.
 */
export async function pollUntil<T>(
  get: () => T | Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: { value: T } | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      const value = await get();
      if (ok(value)) return value;
      last = { value };
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > until) {
      const why =
        lastErr !== undefined
          ? `; last error: ${lastErr instanceof Error ? lastErr.message : JSON.stringify(lastErr)}`
          : last !== undefined
            ? `; last: ${JSON.stringify(last.value)}`
            : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, lastErr === undefined ? {} : { cause: lastErr });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves as soon as `condition()` returns true (pollUntil over a boolean). */
export async function waitFor(condition: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  await pollUntil(condition, (v) => v, opts.what, opts.timeoutMs, opts.intervalMs);
}

/** The value of an unlabelled Prometheus sample from a server's /metrics (NaN when absent). */
export async function metricValue(node: { url: string }, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}
