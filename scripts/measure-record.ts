/**
 * What the durable record can take: record batches (MySQL transactions) per second and `once` audit
 * rows per second committed against a real MariaDB (started on loopback by the test harness), the
 * way a node with durable acks commits them: each simulated node holds its NODE_ID lease, journals
 * its buzzes (FileJournal, fdatasync on, as JOURNAL_FSYNC=true), journals the batch's intent, commits
 * the batch (MysqlRecord.persistCounts: lease fence, node_batches lock, audit rows, count row) and
 * marks it committed, back to back (no persist interval: the figure is the ceiling, not what a node
 * sends at PERSIST_INTERVAL_MS=1000, which is one batch per second).
 *
 * Runs every combination of `--nodes` (simulated nodes committing concurrently, each with its own
 * pool and journal) and `--rows` (counted buzzes per batch: one count row plus that many audit rows),
 * under `innodb_flush_log_at_trx_commit` 1 (the redo log flushed at every commit: a durable primary)
 * and 2 (the harness's default: flushed once a second). The harness's MariaDB runs without a binary
 * log and without the doublewrite buffer, so a replicated primary (`sync_binlog=1`) pays more per commit. Also reports the journal's fdatasync
 * latency on this disk (the cost added to every tick's acks), from the journals' own stats, and the
 * MariaDB server's CPU per batch and per audit row (/proc/PID/stat of mariadbd), which stays
 * meaningful on a busy shared box where the rates do not, beside this process's CPU per audit row
 * (what the simulated nodes spent forming, journaling and sending the batches: a node pays it).
 * One JSON line per run on stdout, a summary line last.
 *
 *   npx tsx scripts/measure-record.ts [--seconds 5] [--nodes 1,8] [--rows 1,1000] [--trx-commit 1,2]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MysqlRecord } from "../server/record/mysql-record.ts";
import type { AuditEntry, CountRow } from "../server/record/record.ts";
import type { QueuedAudit } from "../server/store/counter-state.ts";
import { FileJournal } from "../server/store/file-journal.ts";
import { freshDataDir } from "../test/harness/data-dir.ts";
import { startMariaDb } from "../test/harness/mariadb.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    nodes: { type: "string", default: "1,8" },
    rows: { type: "string", default: "1,1000" },
    "trx-commit": { type: "string", default: "1,2" },
  },
});
const seconds = Number(values.seconds);
const list = (s: string): number[] => s.split(",").map(Number);
const nodeCounts = list(values.nodes);
const rowCounts = list(values.rows);
const trxCommits = list(values["trx-commit"]);

interface NodeResult {
  batches: number;
  auditRows: number;
  mysqlMs: number;
  syncs: number;
  syncSeconds: number;
  maxSyncSeconds: number;
  commitMs: number[];
}

/** One simulated node: lease, then journal -> intent -> commit -> committed, until `until`. */
async function node(url: string, dir: string, id: string, epoch: string, rows: number, until: number): Promise<NodeResult> {
  const record = new MysqlRecord(url, { poolSize: 1 });
  const lease = await record.acquireNodeLease(id, `${id}-holder`, 600_000);
  if (!lease.ok) throw new Error(`lease for ${id} refused: held by ${lease.holder}`);
  const journal = new FileJournal({ path: join(dir, `${id}.journal`), node: id, base: await record.lastBatchSeq(id), fsync: true });
  const r: NodeResult = { batches: 0, auditRows: 0, mysqlMs: 0, syncs: 0, syncSeconds: 0, maxSyncSeconds: 0, commitMs: [] };
  let seq = await record.lastBatchSeq(id);
  let viewer = 0;
  try {
    while (performance.now() < until) {
      const now = Date.now();
      const once: AuditEntry[] = Array.from({ length: rows }, () => ({
        show: "s",
        epoch,
        act: "a",
        viewer: `v:${id}:${viewer++}`,
        atMs: now,
        count: 1,
      }));
      const queued: QueuedAudit[] = once.map((e) => ({ ...e, once: true }));
      const counts: CountRow[] = [{ show: "s", epoch, act: "a", delta: rows }];
      await journal.append(queued); // what the ticks journaled before acking these buzzes
      seq++;
      await journal.intent(seq, counts);
      const t0 = performance.now();
      await record.persistCounts({ node: id, batchSeq: seq, rows: counts, once });
      const ms = performance.now() - t0;
      journal.committed(seq, counts);
      r.batches++;
      r.auditRows += rows;
      r.mysqlMs += ms;
      r.commitMs.push(ms);
    }
    const s = journal.stats();
    r.syncs = s.syncs;
    r.syncSeconds = s.syncSeconds;
    r.maxSyncSeconds = s.maxSyncSeconds;
    return r;
  } finally {
    journal.close();
    await record.releaseNodeLease(id, `${id}-holder`);
    await record.close();
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/** CPU seconds mariadbd has used (utime + stime from /proc/PID/stat). */
function serverCpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15, in clock ticks (USER_HZ = 100 on Linux)
}

const db = await startMariaDb();
const data = freshDataDir();
const summary: Array<Record<string, number>> = [];
try {
  const setup = new MysqlRecord(db.url);
  await setup.migrate();
  await setup.close();
  const [pidRow] = await db.query<Array<{ f: string }>>("SELECT @@pid_file AS f");
  const pid = Number(readFileSync(pidRow!.f, "utf8").trim());
  let run = 0;
  for (const trx of trxCommits) {
    await db.query(`SET GLOBAL innodb_flush_log_at_trx_commit = ${trx}`);
    for (const n of nodeCounts)
      for (const rows of rowCounts) {
        run++;
        const epoch = `e${run}`;
        const cpu0 = serverCpuSec(pid);
        const own0 = process.cpuUsage();
        const t0 = performance.now();
        const until = t0 + seconds * 1000;
        const results = await Promise.all(Array.from({ length: n }, (_, i) => node(db.url, data.path, `n${run}-${i}`, epoch, rows, until)));
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = serverCpuSec(pid) - cpu0;
        const own = process.cpuUsage(own0);
        const batches = results.reduce((a, r) => a + r.batches, 0);
        const auditRows = results.reduce((a, r) => a + r.auditRows, 0);
        const syncs = results.reduce((a, r) => a + r.syncs, 0);
        const syncSeconds = results.reduce((a, r) => a + r.syncSeconds, 0);
        const commits = results.flatMap((r) => r.commitMs);
        const line = {
          trxCommit: trx,
          nodes: n,
          auditRowsPerBatch: rows,
          seconds: Number(elapsed.toFixed(2)),
          batchesPerSec: Math.round(batches / elapsed),
          batchesPerSecPerNode: Math.round(batches / elapsed / n),
          auditRowsPerSec: Math.round(auditRows / elapsed),
          commitMsP50: Number(percentile(commits, 50).toFixed(2)),
          commitMsP99: Number(percentile(commits, 99).toFixed(2)),
          fdatasyncMsMean: Number(((syncSeconds / Math.max(1, syncs)) * 1000).toFixed(2)),
          fdatasyncMsMax: Number((Math.max(...results.map((r) => r.maxSyncSeconds)) * 1000).toFixed(2)),
          shareOfTimeInFdatasync: Number((syncSeconds / (elapsed * n)).toFixed(2)),
          mariadbCpuUsPerBatch: Math.round((cpu * 1e6) / batches),
          mariadbCpuUsPerAuditRow: Number(((cpu * 1e6) / auditRows).toFixed(1)),
          nodeCpuUsPerAuditRow: Number(((own.user + own.system) / auditRows).toFixed(1)),
        };
        // The record must hold exactly what was committed (a measurement that lost rows means nothing).
        const held = await db.query<Array<{ c: string; a: string }>>(
          "SELECT (SELECT COALESCE(SUM(count), 0) FROM buzzcast.counts WHERE epoch = ?) AS c, (SELECT COUNT(*) FROM buzzcast.audit_once WHERE epoch = ?) AS a",
          [epoch, epoch],
        );
        console.log(JSON.stringify({ ...line, recordMatches: Number(held[0]?.c) === auditRows && Number(held[0]?.a) === auditRows }));
        summary.push(line);
      }
  }
  console.log(
    JSON.stringify({ summary: summary.map((l) => [l.trxCommit, l.nodes, l.auditRowsPerBatch, l.batchesPerSec, l.auditRowsPerSec]) }),
  );
} finally {
  data.remove();
  await db.stop();
}
