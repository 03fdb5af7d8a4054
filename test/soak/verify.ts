/**
 * The soak's end-of-phase check, with voting closed and the system settled (waiting on conditions
 * only). Per show and act, with A = acks counted, U = buzzes unconfirmed (in flight when their
 * connection died; each may or may not have counted), and live/record/logged from
 * GET /api/shows/:show/audit on every node:
 *  - every node reports the same live, record and logged; record == logged (the audit log);
 *  - zero over-counts: live <= A + U and record <= A + U;
 *  - live == record, SIGKILLs included (a killed node replays its journal when it restarts);
 *  - lost = max(0, A - record), summed over acts, is 0: every buzz acked as counted is in the record;
 *  - live == A where U == 0.
 * Under `once`: no audit_once row above 1, no viewer with two counted acks for one act.
 */
import { doubleCounted } from "../harness/count-audit.ts";
import type { SimDeployment } from "../harness/hosts.ts";
import { auditOf, type AuditReply } from "../harness/sim-checks.ts";
import { waitFor } from "../harness/wait.ts";
import type { Tally } from "./tally.ts";

export interface ActVerdict {
  show: string;
  act: string;
  live: number;
  record: number;
  logged: number;
  acked: number;
  unconfirmed: number;
}

export interface PhaseVerdict {
  acts: ActVerdict[];
  acked: number;
  counted: number;
  record: number;
  lost: number;
  overCounted: number;
  duplicateViewers: number;
  violations: string[];
}

async function auditsOf(d: SimDeployment, show: string): Promise<AuditReply[]> {
  return Promise.all(d.nodes.map((_, i) => auditOf(d, i, show)));
}

/**
 * Waits until, for every show, every node's audit is complete, agrees, matches its log and is
 * stable. When that never happens within `timeoutMs`, `unsettled` says why and `audits` are the
 * last read, still complete for every show (they are then verified as they are, so the violation
 * is named by verifyPhase as well).
 */
export async function settle(
  d: SimDeployment,
  shows: readonly string[],
  timeoutMs: number,
): Promise<{ audits: Record<string, AuditReply>; unsettled: string | null }> {
  let last = "";
  let out: Record<string, AuditReply> = {};
  const latest: Record<string, AuditReply> = {};
  let unsettled: string | null = null;
  await waitFor(
    async () => {
      const now: Record<string, AuditReply> = {};
      let ok = true;
      for (const show of shows) {
        const all = await auditsOf(d, show);
        latest[show] = all[0]!;
        const first = JSON.stringify(all[0]!.acts);
        if (!all.every((a) => JSON.stringify(a.acts) === first)) ok = false;
        for (const x of Object.values(all[0]!.acts)) {
          // live == record is waited for too: after a close, live is raised to the record by passes
          // every ~1 s for 30 s (a node cut from MySQL persists late; a killed node's replay lands
          // when it restarts).
          if (x.live === null || x.record !== x.logged || x.live !== x.record) ok = false;
        }
        now[show] = all[0]!;
      }
      if (!ok) return false;
      const json = JSON.stringify(now);
      const stable = json === last;
      last = json;
      out = now;
      return stable;
    },
    { what: "settled audits on every node", timeoutMs, intervalMs: 500 },
  ).catch((err: Error) => {
    unsettled = `${err.message}; last audits: ${JSON.stringify(latest)}`;
    out = latest;
  });
  return { audits: out, unsettled };
}

export async function verifyPhase(
  d: SimDeployment,
  audits: Record<string, AuditReply>,
  tally: Tally,
  opts: { once: boolean },
): Promise<PhaseVerdict> {
  const violations: string[] = [];
  const acts: ActVerdict[] = [];
  for (const [show, a] of Object.entries(audits)) {
    for (const [act, x] of Object.entries(a.acts)) {
      const k = `${show}/${act}`;
      acts.push({
        show,
        act,
        live: x.live ?? 0,
        record: x.record,
        logged: x.logged,
        acked: tally.acked.get(k) ?? 0,
        unconfirmed: tally.unconfirmed.get(k) ?? 0,
      });
    }
  }
  let overCounted = 0;
  let lost = 0;
  for (const v of acts) {
    const k = `${v.show}/${v.act}`;
    const most = v.acked + v.unconfirmed;
    const over = Math.max(0, v.live - most, v.record - most);
    overCounted += over;
    if (over > 0)
      violations.push(
        `${k}: over-counted by ${over} (live ${v.live}, record ${v.record}, acked ${v.acked} + unconfirmed ${v.unconfirmed})`,
      );
    if (v.record !== v.logged) violations.push(`${k}: record ${v.record} != audit log ${v.logged}`);
    if (v.live !== v.record) violations.push(`${k}: live ${v.live} != record ${v.record}`);
    if (v.unconfirmed === 0 && v.live !== v.acked) violations.push(`${k}: live ${v.live} != acked ${v.acked}`);
    const l = Math.max(0, v.acked - v.record);
    if (l > 0) violations.push(`${k}: lost ${l} (acked ${v.acked}, record ${v.record})`);
    lost += l;
  }
  let duplicateViewers = 0;
  if (opts.once) {
    const rows = (await Promise.all(Object.keys(audits).map((s) => doubleCounted(d.cluster, s)))).reduce((a, b) => a + b, 0);
    const twice = tally.countedTwice();
    duplicateViewers = rows + twice.length;
    if (rows > 0) violations.push(`${rows} audit_once rows count a viewer twice`);
    if (twice.length > 0) violations.push(`acks say counted twice: ${twice.slice(0, 10).join(", ")}`);
  }
  const sum = (f: (v: ActVerdict) => number): number => acts.reduce((n, v) => n + f(v), 0);
  return {
    acts,
    acked: sum((v) => v.acked),
    counted: sum((v) => v.live),
    record: sum((v) => v.record),
    lost,
    overCounted,
    duplicateViewers,
    violations,
  };
}
