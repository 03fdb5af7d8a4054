/**
 * Measures `once` claims decided per second by one SharedStore over 1 and over 3 real memcached
 * servers (started on loopback), claims spread over the servers with one sentinel per server per
 * epoch. Each tick hands the store a batch of distinct new viewers (one `add` each, plus the
 * sentinel reads); the figure is claims decided / elapsed, for `--seconds` per run, runs
 * alternating 1 and 3 servers (each memcached with one thread, `-t 1`, as the test harness starts
 * it). The record is in process (MemoryRecord): this measures the memcached side. Beside the rate
 * it reports CPU per claim on both sides, which stays meaningful on a busy shared box where the
 * rate does not: claims per core-second of this (client) process
 * (process.cpuUsage) and per core-second of the memcached servers together (their own `stats`
 * rusage_user + rusage_system), and memcached requests per claim (cmd_get + cmd_set + cmd_touch +
 * incr/decr hits and misses, summed over the servers), and memcached memory per claim key (`bytes`
 * over `curr_items`, item headers included, slab overhead not).
 * Run: `npx tsx scripts/measure-claims.ts [--seconds 5] [--batch 5000] [--runs 2]`.
 */
import { parseArgs } from "node:util";
import { DualCache } from "../server/cache/dual-cache.ts";
import { MemcachedCache } from "../server/cache/memcached-cache.ts";
import { silentLogger } from "../server/ops/logger.ts";
import { MemoryRecord } from "../server/record/memory-record.ts";
import { SharedStore } from "../server/store/shared-store.ts";
import type { Claim } from "../server/store/store.ts";
import { startMemcached, type RunningMemcached } from "../test/harness/memcached.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    batch: { type: "string", default: "5000" },
    runs: { type: "string", default: "2" },
  },
});
const seconds = Number(values.seconds);
const batch = Number(values.batch);
const runs = Number(values.runs);

interface RunResult {
  claimsPerSec: number;
  claimsPerClientCoreSec: number;
  claimsPerMemcachedCoreSec: number;
  memcachedRequestsPerClaim: number;
  memcachedBytesPerItem: number;
}

/** CPU seconds used so far and requests answered so far, summed over the servers. */
async function serverCounters(servers: RunningMemcached[]): Promise<{ cpuSec: number; requests: number; bytes: number; items: number }> {
  let cpuSec = 0;
  let requests = 0;
  let bytes = 0;
  let items = 0;
  for (const s of servers) {
    const st = await s.stats();
    const n = (k: string): number => Number(st[k] ?? 0);
    cpuSec += n("rusage_user") + n("rusage_system");
    requests += n("cmd_get") + n("cmd_set") + n("cmd_touch") + n("incr_hits") + n("incr_misses") + n("decr_hits") + n("decr_misses");
    bytes += n("bytes");
    items += n("curr_items");
  }
  return { cpuSec, requests, bytes, items };
}

async function run(servers: RunningMemcached[], tag: string): Promise<RunResult> {
  for (const s of servers) await s.flushAll();
  const global = new MemcachedCache({ servers: servers.map((s) => s.address), timeoutMs: 5000 });
  const record = new MemoryRecord();
  await record.migrate();
  const store = new SharedStore(
    new DualCache(global, { l1TtlMs: 0 }),
    global,
    record,
    { nodeId: "m", tickMs: 100, persistIntervalMs: 3_600_000, durable: false },
    silentLogger,
  );
  await store.start();
  let next = 0;
  let decided = 0;
  const before = await serverCounters(servers);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const claims: Claim[] = Array.from({ length: batch }, () => ({ act: "a", viewer: `v:${tag}:${next++}`, atMs: 1, outcome: "pending" }));
    await store.flush([{ show: "s", epoch: tag, deltas: [], claims, acts: ["a"] }]);
    decided += claims.filter((c) => c.outcome === "counted").length;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = await serverCounters(servers);
  await store.close();
  return {
    claimsPerSec: decided / elapsed,
    claimsPerClientCoreSec: decided / ((cpu.user + cpu.system) / 1e6),
    claimsPerMemcachedCoreSec: decided / Math.max(1e-6, after.cpuSec - before.cpuSec),
    memcachedRequestsPerClaim: (after.requests - before.requests) / decided,
    memcachedBytesPerItem: after.bytes / Math.max(1, after.items),
  };
}

const all = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
try {
  const results: Record<string, RunResult[]> = { "1": [], "3": [] };
  for (let r = 0; r < runs; r++) {
    results["1"]!.push(await run(all.slice(0, 1), `r${r}s1`));
    results["3"]!.push(await run(all, `r${r}s3`));
  }
  const mean = (xs: RunResult[], k: keyof RunResult): number => xs.reduce((a, b) => a + b[k], 0) / xs.length;
  const both = (k: keyof RunResult, digits = 0) => ({
    oneServer: Number(mean(results["1"]!, k).toFixed(digits)),
    threeServers: Number(mean(results["3"]!, k).toFixed(digits)),
  });
  console.log(
    JSON.stringify({
      batch,
      seconds,
      runs,
      claimsPerSec: both("claimsPerSec"),
      ratio: Number((mean(results["3"]!, "claimsPerSec") / mean(results["1"]!, "claimsPerSec")).toFixed(2)),
      claimsPerClientCoreSec: both("claimsPerClientCoreSec"),
      claimsPerMemcachedCoreSec: both("claimsPerMemcachedCoreSec"),
      memcachedRequestsPerClaim: both("memcachedRequestsPerClaim", 3),
      memcachedBytesPerItem: both("memcachedBytesPerItem"),
      each: results,
    }),
  );
} finally {
  await Promise.all(all.map((s) => s.stop()));
}
