/**
 * Measures `once` claims decided per second by one SharedStore over 1 and over 3 real memcached
 * servers (started on loopback), claims spread over the servers with one sentinel per server per
 * epoch. Each tick hands the store a batch of distinct new viewers (one `add` each, plus the
 * sentinel reads); the figure is claims decided / elapsed, for `--seconds` per run, runs
 * alternating 1 and 3 servers. The record is in process (MemoryRecord): this measures the
 * memcached side. Run: `npx tsx scripts/measure-claims.ts [--seconds 5] [--batch 5000] [--runs 2]`.
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

async function run(servers: RunningMemcached[], tag: string): Promise<number> {
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
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const claims: Claim[] = Array.from({ length: batch }, () => ({ act: "a", viewer: `v:${tag}:${next++}`, atMs: 1 }));
    const { decisions } = await store.flush([{ show: "s", epoch: tag, deltas: [], claims, acts: ["a"] }]);
    decided += decisions.filter((d) => d.outcome === "counted").length;
  }
  const rate = decided / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

const all = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
try {
  const results: Record<string, number[]> = { "1": [], "3": [] };
  for (let r = 0; r < runs; r++) {
    results["1"]!.push(await run(all.slice(0, 1), `r${r}s1`));
    results["3"]!.push(await run(all, `r${r}s3`));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const one = mean(results["1"]!);
  const three = mean(results["3"]!);
  console.log(
    JSON.stringify({
      batch,
      seconds,
      runs,
      claimsPerSec: { oneServer: Math.round(one), threeServers: Math.round(three) },
      ratio: Number((three / one).toFixed(2)),
      each: results,
    }),
  );
} finally {
  await Promise.all(all.map((s) => s.stop()));
}
