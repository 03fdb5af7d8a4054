/**
 * What the write-ahead journal adds to every tick: one FileJournal (fdatasync on, as
 * JOURNAL_FSYNC=true) in a fresh directory on the disk the OS temp dir lives on, appended once per
 * tick (`--tick-ms`, default 100) with `--buzzes` counted buzzes (a list: one run each, e.g. the
 * act on stage of a quiet tick, and a node's share of a 10-second vote), for `--seconds` each.
 * Reports per run the latency of the append (one write(2) + fdatasync, the time between a tick's
 * flush and its acks) as p50 / p99 / max, and the bytes appended per buzz. One JSON line per run.
 *
 *   npx tsx scripts/measure-journal-sync.ts [--seconds 10] [--tick-ms 100] [--buzzes 1,200,2000]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { QueuedAudit } from "../server/store/counter-state.ts";
import { FileJournal } from "../server/store/file-journal.ts";
import { freshDataDir } from "../test/harness/data-dir.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    "tick-ms": { type: "string", default: "100" },
    buzzes: { type: "string", default: "1,200,2000" },
  },
});
const seconds = Number(values.seconds);
const tickMs = Number(values["tick-ms"]);
const sizes = values.buzzes.split(",").map(Number);

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

const dir = freshDataDir();
try {
  for (const buzzes of sizes) {
    const journal = new FileJournal({ path: join(dir.path, `j${buzzes}.journal`), node: "n", base: 0, fsync: true });
    const ms: number[] = [];
    let viewer = 0;
    const t0 = performance.now();
    let next = t0;
    while (performance.now() - t0 < seconds * 1000) {
      const now = Date.now();
      const entries: QueuedAudit[] = Array.from({ length: buzzes }, () => ({
        show: "show-1",
        epoch: "e1",
        act: "act-1",
        viewer: `v:${viewer++}`,
        atMs: now,
        count: 1,
        once: true,
      }));
      const a = performance.now();
      await journal.append(entries);
      ms.push(performance.now() - a);
      next += tickMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const s = journal.stats();
    journal.close();
    console.log(
      JSON.stringify({
        buzzesPerTick: buzzes,
        ticks: ms.length,
        appendMsP50: Number(percentile(ms, 50).toFixed(2)),
        appendMsP99: Number(percentile(ms, 99).toFixed(2)),
        appendMsMax: Number(Math.max(...ms).toFixed(2)),
        fdatasyncMsMean: Number(((s.syncSeconds / Math.max(1, s.syncs)) * 1000).toFixed(2)),
        bytesPerBuzz: Number((s.bytes / Math.max(1, buzzes * ms.length)).toFixed(1)),
        shareOfTick: Number((percentile(ms, 50) / tickMs).toFixed(3)),
      }),
    );
  }
} finally {
  dir.remove();
}
