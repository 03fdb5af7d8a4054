/**
 * The invariants checked after every fault, with voting closed and the system settled:
 * per act, live totals on every node == the record == the audit log (GET /api/shows/:show/audit on
 * every node), their sum == acks counted minus at most the SIGKILL window, nobody counted twice
 * under `once`, and no client saw a total decrease. Waits on conditions only.
 */
import assert from "node:assert/strict";
import type { Audience } from "./audience.ts";
import { doubleCounted } from "./count-audit.ts";
import type { SimDeployment } from "./hosts.ts";
import { admin } from "./server.ts";
import { waitFor } from "./wait.ts";

export interface AuditReply {
  show: string;
  epoch: string;
  acts: Record<string, { live: number; record: number; logged: number; match: boolean }>;
}

export interface Verdict {
  /** Per node: its audit reply. */
  audits: Record<string, AuditReply>;
  acked: number;
  record: number;
  /** acked - record (> 0 only after a SIGKILL). */
  lost: number;
  /** live - record (> 0 only after a SIGKILL: see `lostBound`). */
  liveOverRecord: number;
}

export async function auditOf(d: SimDeployment, i: number, show: string): Promise<AuditReply> {
  return (await admin(d.nodes[i]!, "GET", `/api/shows/${show}/audit`)) as AuditReply;
}

const sum = (a: AuditReply, k: "live" | "record" | "logged"): number => Object.values(a.acts).reduce((n, x) => n + x[k], 0);

/**
 * Closes voting on `act` through node `via`, waits until every node's audit matches and agrees with
 * the others and `acked - lostBound <= record <= acked`, then asserts the invariants.
 * With `lostBound` > 0 (a node was SIGKILLed) the check is what the code guarantees today: record ==
 * audit log on every node, nodes agree, and `record <= live <= acked` — live keeps the killed node's
 * unpersisted buzzes that reached memcached, so live == record does NOT hold after a SIGKILL (reported
 * as a violation of "live == record"; `liveOverRecord` says by how much).
 */
export async function closeAndVerify(
  d: SimDeployment,
  audience: Audience,
  show: string,
  act: string,
  opts: { lostBound?: number; once?: boolean; via?: number; timeoutMs?: number } = {},
): Promise<Verdict> {
  await admin(d.nodes[opts.via ?? 0]!, "POST", `/api/shows/${show}/stage`, { act, open: false });
  const acked = audience.counted();
  // After a SIGKILL, buzzes the killed node had taken in (journaled) but not yet acknowledged may
  // still count: the record may exceed the acks by at most the buzzes whose ack never came.
  const unconfirmed = opts.lostBound === undefined ? 0 : audience.unconfirmed();
  const bound = opts.lostBound ?? 0;
  let audits: Record<string, AuditReply> = {};
  const settled = async (): Promise<boolean> => {
    audits = {};
    for (let i = 0; i < d.nodes.length; i++) audits[`n${i + 1}`] = await auditOf(d, i, show);
    const all = Object.values(audits);
    const first = all[0]!;
    return all.every(
      (a) =>
        Object.values(a.acts).every(
          (x) =>
            x.record === x.logged && (bound === 0 ? x.match && x.live === x.record : x.live >= x.record && x.live <= acked + unconfirmed),
        ) &&
        JSON.stringify(a.acts) === JSON.stringify(first.acts) &&
        sum(a, "record") <= acked + unconfirmed &&
        sum(a, "record") >= acked - bound,
    );
  };
  await waitFor(settled, { what: `settled counts of ${show} (acked ${acked}, bound ${bound})`, timeoutMs: opts.timeoutMs ?? 20_000 }).catch(
    (err: Error) => {
      throw new Error(`${err.message}; audits: ${JSON.stringify(audits)}`);
    },
  );
  const record = sum(Object.values(audits)[0]!, "record");
  const live = sum(Object.values(audits)[0]!, "live");
  assert.deepEqual(audience.decreases, [], "no client saw a total decrease");
  if (opts.once) {
    assert.equal(await doubleCounted(d.cluster, show), 0, "no audit row counts a viewer twice");
    const twice = [...new Set(audience.conns.map((c) => c.viewer))].filter((v) => audience.countedBy(v) > 1);
    assert.deepEqual(twice, [], "no viewer's acks say counted more than once");
  }
  return { audits, acked, record, lost: Math.max(0, acked - record), liveOverRecord: live - record };
}
