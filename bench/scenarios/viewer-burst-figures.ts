/** Figures and targets of the viewer-burst scenario (viewer-burst.ts). Pure functions. */

export interface ActFigures {
  act: string;
  sent: number;
  /** Viewers whose ack counted this buzz (their cumulative count grew by exactly one). */
  counted: number;
  /** Viewers counted more than once for one buzz (must be 0). */
  countedTwice: number;
  rejected: Record<string, number>;
  /** Counted buzzes per second, first buzz sent -> last counted ack. */
  countedPerSec: number;
  /** Voting open (first possible buzz) -> ack, p99 over counted buzzes. */
  ackP99Ms: number | null;
  persistLagP50Ms: number | null;
  persistLagP99Ms: number | null;
  auditRowsPerSec: number | null;
}

export interface RunResult {
  name: string;
  tokens: boolean;
  record: boolean;
  viewers: number;
  nodes: number;
  welcomed: number;
  /** Hellos answered with welcome per second, 256 handshakes in flight per generator process. */
  connectPerSec: number;
  memcachedOpsPerCounted: number | null;
  acts: ActFigures[];
  /** GET /api/shows/:show/audit at the end (after the reconcile delay); null without a record. */
  audit: Record<string, { live: number | null; record: number; logged: number; match: boolean }> | null;
}

export interface Target {
  what: string;
  measured: string;
  pass: boolean;
}

export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * Ack -> audit row committed. Rows are matched to acks in order: the k-th counted ack's row is taken
 * as committed at the first poll that saw at least k rows (polls every ~100 ms through the HTTP
 * audit endpoint, so each lag is over-estimated by up to one poll). A row never seen counts as
 * Infinity (the p99 then says so).
 */
export function persistLag(
  ackTimes: readonly number[],
  samples: ReadonlyArray<readonly [number, number]>,
): { p50: number; p99: number } | null {
  if (ackTimes.length === 0) return null;
  const acks = [...ackTimes].sort((a, b) => a - b);
  const lags: number[] = [];
  let s = 0;
  for (let k = 1; k <= acks.length; k++) {
    while (s < samples.length && samples[s]![1] < k) s++;
    lags.push(s < samples.length ? Math.max(0, samples[s]![0] - acks[k - 1]!) : Infinity);
  }
  return { p50: quantile(lags, 0.5)!, p99: quantile(lags, 0.99)! };
}

export function burstTargets(results: readonly RunResult[], persistMs: number): Target[] {
  const out: Target[] = [];
  for (const r of results) {
    const exact = r.acts.every(
      (a) =>
        a.counted === r.viewers &&
        a.countedTwice === 0 &&
        (r.audit === null || (r.audit[a.act]?.match === true && r.audit[a.act]?.logged === r.viewers)),
    );
    out.push({
      what: `${r.name}: ${r.viewers} viewers buzzing within the spread, each counted exactly once per act${r.record ? " (acks == live == record == audit)" : ""}`,
      measured:
        r.acts.map((a) => `${a.act} ${a.counted}/${r.viewers}, twice ${a.countedTwice}`).join("; ") +
        (r.welcomed < r.viewers ? `; only ${r.welcomed} connected` : ""),
      pass: exact && r.welcomed === r.viewers,
    });
    if (r.record) {
      const worst = Math.max(...r.acts.map((a) => a.persistLagP99Ms ?? Infinity));
      out.push({
        what: `${r.name}: persist lag p99 <= 2 persist intervals (${2 * persistMs} ms)`,
        measured: `${worst} ms`,
        pass: worst <= 2 * persistMs,
      });
    }
  }
  const on = results.find((r) => r.name === "tokens+audit");
  const off = results.find((r) => r.name === "anon+audit");
  if (on && off) {
    const cost = 1 - on.connectPerSec / off.connectPerSec;
    out.push({
      what: "token check costs < 10% of connect throughput",
      measured: `${on.connectPerSec}/s with tokens vs ${off.connectPerSec}/s without (${(cost * 100).toFixed(1)}% cost)`,
      pass: cost < 0.1,
    });
  }
  return out;
}
