/**
 * The count you can prove, checked end to end: per act, the live totals every node publishes, the
 * record's count rows, the audit log's rows and the acks' `counted` all agree.
 */
import assert from "node:assert/strict";
import type { Cluster } from "./cluster.ts";
import { showState } from "./cluster.ts";
import type { RunningServer } from "./server.ts";
import type { TestViewer } from "./ws-client.ts";
import { pollUntil } from "./wait.ts";

type PerAct = Record<string, number>;

/** act -> SUM(count) of the record's count rows and of the audit rows (both audit tables). */
export async function recordAndAudit(cluster: Cluster, show: string, epoch: string): Promise<{ record: PerAct; audit: PerAct }> {
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const sum = async (sql: string, params: string[]): Promise<PerAct> => {
    const rows = await cluster.mariadb.query<Array<{ act: string; n: string | number }>>(sql, params);
    return Object.fromEntries(rows.filter((r) => Number(r.n) > 0).map((r) => [r.act, Number(r.n)]));
  };
  const record = await sum(`SELECT act, SUM(count) AS n FROM \`${db}\`.counts WHERE show_id = ? AND epoch = ? GROUP BY act ORDER BY act`, [
    show,
    epoch,
  ]);
  const audit = await sum(
    `SELECT act, SUM(n) AS n FROM (SELECT act, count AS n FROM \`${db}\`.audit_once WHERE show_id = ? AND epoch = ?` +
      ` UNION ALL SELECT act, count AS n FROM \`${db}\`.audit_interval WHERE show_id = ? AND epoch = ?) t GROUP BY act ORDER BY act`,
    [show, epoch, show, epoch],
  );
  return { record, audit };
}

/** Audit rows whose count is above 1: viewers the fleet counted twice for one act (must be none). */
export async function doubleCounted(cluster: Cluster, show: string): Promise<number> {
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const rows = await cluster.mariadb.query<Array<{ n: string | number }>>(
    `SELECT COUNT(*) AS n FROM \`${db}\`.audit_once WHERE show_id = ? AND count > 1`,
    [show],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Waits until every node's live totals, the record and the audit log equal `expected`, then checks
 * the acks: the sum of `counted` over `viewers`' last acks is the sum of `expected`.
 */
export async function assertCountsAgree(
  cluster: Cluster,
  nodes: readonly RunningServer[],
  show: string,
  expected: PerAct,
  viewers: readonly TestViewer[],
): Promise<void> {
  const epoch = (await showState(nodes[0] as RunningServer, show)).epoch;
  const proof = await pollUntil(
    () => recordAndAudit(cluster, show, epoch),
    (p) => JSON.stringify(p.record) === JSON.stringify(expected) && JSON.stringify(p.audit) === JSON.stringify(expected),
    `record == audit == ${JSON.stringify(expected)}`,
  );
  assert.deepEqual(proof.audit, proof.record, "per act, audit rows == count rows");
  for (const n of nodes) {
    const s = await pollUntil(
      () => showState(n, show),
      (st) => Object.entries(expected).every(([a, v]) => st.totals[a] === v),
      `live totals at ${n.url}`,
    );
    for (const [a, v] of Object.entries(expected)) assert.equal(s.totals[a], v, `live ${a} at ${n.url}`);
  }
  const acked = viewers.reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
  assert.equal(
    acked,
    Object.values(expected).reduce((a, b) => a + b, 0),
    "acks counted == live == record == audit",
  );
  assert.equal(await doubleCounted(cluster, show), 0, "no audit row counts a viewer twice");
}
