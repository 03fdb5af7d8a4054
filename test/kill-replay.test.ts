/**
 * SIGKILL of a node under buzzing, then its restart with the same NODE_ID (and the same DATA_DIR):
 * every buzz it acknowledged as counted reaches the record, and live == record == audit log,
 * exactly, on real memcached and MariaDB, under both policies, with kills at seeded moments.
 *
 * A buzz whose ack never came (in flight when its connection died) may or may not have counted:
 * such buzzes are "unconfirmed", and the check is acked <= record <= acked + unconfirmed per act,
 * with lost (acked - record) exactly 0. Under `once` it is also per viewer: every viewer acked as
 * counted has its audit_once row, and every audit_once row is a viewer acked or unconfirmed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, openShow, showState, startCluster, type Cluster } from "./harness/cluster.ts";
import { recordAndAudit } from "./harness/count-audit.ts";
import { admin, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { Rng, sleep } from "./soak/rng.ts";

const SEED = Number(process.env.KILL_SEED ?? 20261207);
const KILLS = 3;
/** Then kills that land while the victim drains after a SIGTERM (its closes acknowledge as they go). */
const KILLS_IN_DRAIN = 2;
const ON_VICTIM = 40;
const ON_SURVIVOR = 10;

for (const policy of ["unlimited", "once"] as const) {
  describe(`SIGKILL and restart (${policy})`, () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster(2, { BUZZ_POLICY: policy, RATE_LIMIT_PER_SEC: "0" });
    });
    after(async () => {
      await cluster.stop();
    });
    const live = (): RunningServer[] => cluster.nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);

    test(`${KILLS} kills at seeded moments, ${KILLS_IN_DRAIN} during a drain: lost 0, live == record == audit`, async (t) => {
      const rng = new Rng(SEED + (policy === "once" ? 1 : 0));
      for (let round = 0; round < KILLS + KILLS_IN_DRAIN; round++) {
        const inDrain = round >= KILLS;
        const show = `kill${round}`;
        const survivor = live().find((n) => n === cluster.nodes[0])!;
        const victim = live().find((n) => n !== survivor)!;
        await openShow(survivor, show, ["a"]);
        const ids = new Map<TestViewer, string>();
        const join = async (node: RunningServer, i: number): Promise<TestViewer> => {
          const id = `${show}-${node.port}-${i}`;
          const v = await TestViewer.join(node.wsUrl, show, id);
          ids.set(v, id);
          return v;
        };
        const onVictim = await Promise.all(Array.from({ length: ON_VICTIM }, (_, i) => join(victim, i)));
        const onSurvivor = await Promise.all(Array.from({ length: ON_SURVIVOR }, (_, i) => join(survivor, i)));
        const viewers = [...onVictim, ...onSurvivor];
        await Promise.all(viewers.map((v) => v.votingOpen("a")));
        // Each viewer starts at its own moment over 2 s, then buzzes every 20 ms: under `once` its
        // first buzz is a claim, so claims are being decided all along, like deltas under `unlimited`.
        const startAt = viewers.map(() => rng.between(0, 2000));
        const t0 = Date.now();
        const timer = setInterval(() => {
          viewers.forEach((v, i) => {
            if (Date.now() - t0 >= startAt[i]! && v.closeCode === null && v.ws.readyState === v.ws.OPEN) v.buzz("a");
          });
        }, 20);
        const killAfter = rng.between(300, 1700);
        await sleep(t0 + killAfter - Date.now());
        let drainedFor = 0;
        if (inDrain) {
          // SIGTERM starts the paced drain (DRAIN_SPREAD_MS, 2 s); the SIGKILL lands inside it.
          drainedFor = rng.between(50, 1500);
          victim.proc.kill("SIGTERM");
          await sleep(drainedFor);
        }
        await victim.stop("SIGKILL");
        await Promise.all(onVictim.map((v) => v.closed));
        const restarted = await cluster.addNode("n2"); // the victim's NODE_ID, DATA_DIR and journal
        clearInterval(timer);
        await Promise.all(
          onSurvivor.map((v) => v.until(() => v.lastAck?.seq === v.sentSeq && v.sentSeq > 0, "last ack on the survivor", 30_000)),
        );
        await admin(survivor, "POST", `/api/shows/${show}/stage`, { act: "a", open: false });

        const acked = viewers.reduce((n, v) => n + (v.lastAck?.counted ?? 0), 0);
        const unconfirmed = onVictim.reduce((n, v) => n + (v.sentSeq - (v.lastAck?.seq ?? 0)), 0);
        const epoch = (await showState(survivor, show)).epoch;
        // The record and the audit log settle (the restarted node replayed its journal before
        // listening; the survivor's last batch lands within a persist interval), and live on every
        // node reaches the record: read together, so a batch landing meanwhile is not a mismatch.
        const nodes = [survivor, restarted];
        const proof = await eventually(
          async () => {
            const p = await recordAndAudit(cluster, show, epoch);
            const lives = await Promise.all(nodes.map(async (n) => (await showState(n, show)).totals.a));
            const again = await recordAndAudit(cluster, show, epoch);
            return { ...p, lives, stable: again.record.a === p.record.a };
          },
          (p) => p.stable && (p.record.a ?? 0) >= acked && p.record.a === p.audit.a && p.lives.every((l) => l === p.record.a),
          `record == audit >= acked ${acked} == live on every node`,
          20_000,
        );
        const record = proof.record.a ?? 0;
        t.diagnostic(
          `${policy} kill ${round} at ${Math.round(killAfter)} ms${inDrain ? ` (${Math.round(drainedFor)} ms into a drain)` : ""}: acked ${acked}, unconfirmed ${unconfirmed}, record ${record}, lost ${Math.max(0, acked - record)}`,
        );
        assert.equal(Math.max(0, acked - record), 0, `kill ${round}: lost 0 (acked ${acked}, record ${record})`);
        assert.ok(record <= acked + unconfirmed, `kill ${round}: record ${record} <= acked ${acked} + unconfirmed ${unconfirmed}`);
        if (policy === "once") await assertOnceViewers(cluster, show, epoch, ids);
        for (const v of viewers) v.close();
        if (restarted.proc.exitCode !== null) throw new Error("the restarted node exited");
      }
    });
  });
}

/** Every viewer acked as counted has one audit_once row; a viewer never acked counted has none unless a buzz of it was unconfirmed. */
async function assertOnceViewers(cluster: Cluster, show: string, epoch: string, ids: ReadonlyMap<TestViewer, string>): Promise<void> {
  const db = new URL(cluster.mysqlUrl).pathname.slice(1);
  const rows = await cluster.mariadb.query<Array<{ viewer: string; count: number }>>(
    `SELECT viewer, count FROM \`${db}\`.audit_once WHERE show_id = ? AND epoch = ?`,
    [show, epoch],
  );
  const inRecord = new Map(rows.map((r) => [r.viewer, Number(r.count)]));
  for (const [v, id] of ids) {
    const key = `v:${id}`;
    const counted = (v.lastAck?.counted ?? 0) > 0;
    const unconfirmed = v.sentSeq - (v.lastAck?.seq ?? 0) > 0;
    if (counted) assert.equal(inRecord.get(key), 1, `${key} acked counted: one audit_once row`);
    else if (!unconfirmed) assert.equal(inRecord.has(key), false, `${key} never counted: no audit_once row`);
  }
  for (const [viewer, n] of inRecord) assert.equal(n, 1, `${viewer} counted once`);
}
