/**
 * Waiting on a condition instead of sleeping a fixed time: the test goes on the moment the condition
 * holds and fails with a message naming what it waited for when it never does.
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
 * Resolves as soon as `condition()` returns true (checked at once, then every `intervalMs`).
 * A condition that throws is retried until the deadline; then its last error is reported.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      if (await condition()) return;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > until) {
      const why = lastErr === undefined ? "" : `; last error: ${lastErr instanceof Error ? lastErr.message : JSON.stringify(lastErr)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** The value of an unlabelled Prometheus sample from a server's /metrics (NaN when absent). */
export async function metricValue(node: { url: string }, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}
