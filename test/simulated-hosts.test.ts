/**
 * Faults on real network paths (docs/fault-testing.md): memcached, MariaDB, HAProxy and three nodes
 * each on its own simulated host (a network namespace), viewers buzzing through HAProxy (and some
 * straight at one node, to aim a fault at them). After every fault: voting closed, the system
 * settled, then per act live totals on every node == record == audit log == acks counted (SIGKILL
 * included: the killed node replays its journal when it starts again), nobody counted twice under
 * `once`, no client saw a total decrease.
 * Under BUZZ_POLICY=once: (a) node loses memcached, (b) one-way node -> MariaDB, (d) SIGSTOP/SIGCONT,
 * (f) memcached and MariaDB restarted. Under unlimited: (c) latency spike and loss, (e) SIGKILL.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Audience, type Conn } from "./harness/audience.ts";
import { openShow } from "./harness/cluster.ts";
import { startSimulatedHosts, type SimDeployment } from "./harness/hosts.ts";
import { closeAndVerify } from "./harness/sim-checks.ts";
import { waitFor } from "./harness/wait.ts";

const TICK_MS = 50;
const PERSIST_INTERVAL_MS = 200;

async function readyStatus(d: SimDeployment, node: string): Promise<number> {
  const res = await fetch(`${d.nodes[d.nodeIndex(node)]!.url}/readyz`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status;
}

async function lbStatus(d: SimDeployment, node: string): Promise<string> {
  return (await d.lb.stats()).find((s) => s.name === node)?.status ?? "absent";
}

async function viewers(d: SimDeployment, a: Audience, show: string, prefix: string, n: number, url = d.lb.wsUrl): Promise<Conn[]> {
  const conns = await Promise.all(Array.from({ length: n }, (_, i) => a.join(url, show, `${prefix}${i}`)));
  await Promise.all(conns.map((c) => c.v.votingOpen("a")));
  return conns;
}

function buzz(conns: readonly Conn[], times = 1): void {
  for (let i = 0; i < times; i++) for (const c of conns) if (c.v.closeCode === null) c.v.buzz("a");
}

/** How far back before `killedAt` the last `lost` counted acks of `conns` go. */
function lossSpanMs(conns: readonly Conn[], killedAt: number, lost: number): number {
  const deltas = conns.flatMap((c) => c.acks.map(([t, n], i) => [t, n - (c.acks[i - 1]?.[1] ?? 0)] as const));
  deltas.sort((x, y) => y[0] - x[0]);
  let n = 0;
  for (const [t, k] of deltas) if ((n += k) >= lost) return killedAt - t;
  return Number.NaN;
}

async function start(d: SimDeployment, show: string): Promise<Audience> {
  await openShow(d.nodes[0]!, show, ["a"]);
  return new Audience();
}

describe("simulated hosts, BUZZ_POLICY=once", () => {
  let d: SimDeployment;
  const audiences: Audience[] = [];
  before(async () => {
    d = await startSimulatedHosts({
      env: { BUZZ_POLICY: "once", TICK_MS: String(TICK_MS), PERSIST_INTERVAL_MS: String(PERSIST_INTERVAL_MS) },
    });
  });
  after(async () => {
    for (const a of audiences) a.close();
    await d?.stop();
  });

  test("(a) n1 loses its path to memcached while HAProxy still reaches it: 503, new viewers elsewhere, exact after the heal", async (t) => {
    const a = await start(d, "sa");
    audiences.push(a);
    const early = await viewers(d, a, "sa", "early", 9);
    buzz(early, 2);
    await a.allAcked();
    const fault = await d.faults.start({ kind: "partition", from: "n1", to: "mc" });
    await waitFor(async () => (await readyStatus(d, "n1")) === 503, { what: "n1 /readyz 503" });
    await waitFor(async () => (await lbStatus(d, "n1")).startsWith("DOWN"), { what: "HAProxy marks n1 DOWN" });
    const n1Before = (await d.lb.stats()).find((s) => s.name === "n1")!.total;
    const late = await viewers(d, a, "sa", "late", 9);
    const stranded = await viewers(d, a, "sa", "n1-", 4, d.nodes[0]!.wsUrl);
    buzz([...early, ...late, ...stranded], 2);
    await a.allAcked(late);
    assert.equal((await d.lb.stats()).find((s) => s.name === "n1")!.total, n1Before, "HAProxy sent no new viewer to n1");
    await d.faults.stop(fault);
    await waitFor(async () => (await lbStatus(d, "n1")) === "UP", { what: "n1 UP again" });
    await a.allAcked();
    const v = await closeAndVerify(d, a, "sa", "a", { once: true });
    assert.equal(v.record, 22, "9 early + 9 late + 4 on n1, once each");
    t.diagnostic(`faults: ${JSON.stringify(d.faults.log.at(-1))}`);
  });

  test("(b) one-way partition n2 -> MariaDB: counts exact after the heal", async () => {
    const a = await start(d, "sb");
    audiences.push(a);
    const onN2 = await viewers(d, a, "sb", "b2-", 6, d.nodes[1]!.wsUrl);
    const others = await viewers(d, a, "sb", "b-", 6);
    const fault = await d.faults.start({ kind: "partition", from: "n2", to: "db", oneWay: true });
    buzz([...onN2, ...others], 3);
    await waitFor(async () => (await readyStatus(d, "n2")) === 503, { what: "n2 /readyz 503 (MySQL unreachable)" });
    const more = await viewers(d, a, "sb", "b2late-", 3, d.nodes[1]!.wsUrl);
    buzz(more, 2);
    await d.faults.stop(fault);
    await waitFor(async () => (await readyStatus(d, "n2")) === 200, { what: "n2 ready again" });
    await a.allAcked();
    const v = await closeAndVerify(d, a, "sb", "a", { once: true });
    assert.equal(v.record, 15);
  });

  test("(d) SIGSTOP then SIGCONT n2: counts exact, nobody twice", async () => {
    const a = await start(d, "sd");
    audiences.push(a);
    const onN2 = await viewers(d, a, "sd", "d2-", 6, d.nodes[1]!.wsUrl);
    const others = await viewers(d, a, "sd", "d-", 6);
    const fault = await d.faults.start({ kind: "pause", target: "n2" });
    buzz([...onN2, ...others], 3);
    await waitFor(async () => (await lbStatus(d, "n2")).startsWith("DOWN"), { what: "HAProxy marks the stopped n2 DOWN" });
    const late = await viewers(d, a, "sd", "dlate-", 6);
    buzz(late, 2);
    await a.allAcked(late);
    await d.faults.stop(fault);
    await a.allAcked();
    const v = await closeAndVerify(d, a, "sd", "a", { once: true });
    assert.equal(v.record, 18);
  });

  test("(f) memcached restarted, then MariaDB restarted, mid-act: nobody counted twice, counts exact", async () => {
    const a = await start(d, "sf");
    audiences.push(a);
    const first = await viewers(d, a, "sf", "f1-", 9);
    buzz(first, 2);
    await a.allAcked();
    await d.faults.start({ kind: "restart", target: "mc" });
    const second = await viewers(d, a, "sf", "f2-", 9);
    buzz([...first, ...second], 2);
    await a.allAcked(undefined, 30_000);
    await d.faults.start({ kind: "restart", target: "db" });
    const third = await viewers(d, a, "sf", "f3-", 9);
    buzz([...first, ...second, ...third], 2);
    await a.allAcked(undefined, 30_000);
    const v = await closeAndVerify(d, a, "sf", "a", { once: true, timeoutMs: 30_000 });
    assert.equal(v.record, 27);
  });
});

describe("simulated hosts, BUZZ_POLICY=unlimited", () => {
  let d: SimDeployment;
  const audiences: Audience[] = [];
  before(async () => {
    d = await startSimulatedHosts({
      env: {
        BUZZ_POLICY: "unlimited",
        TICK_MS: String(TICK_MS),
        PERSIST_INTERVAL_MS: String(PERSIST_INTERVAL_MS),
        // every buzz must count, so the per-connection rate limit (10/s by default) stays out of the way
        RATE_LIMIT_PER_SEC: "100000",
        RATE_LIMIT_BURST: "100000",
      },
    });
  });
  after(async () => {
    for (const a of audiences) a.close();
    await d?.stop();
  });

  test("(c) latency spike and packet loss on n3 -> memcached: counts exact", async (t) => {
    const a = await start(d, "sc");
    audiences.push(a);
    const onN3 = await viewers(d, a, "sc", "c3-", 6, d.nodes[2]!.wsUrl);
    const others = await viewers(d, a, "sc", "c-", 6);
    const watcher = others[0]!.v;
    /** ms until a viewer on another node sees one buzz from each n3 viewer (n3 -> memcached -> the others). */
    const visibility = async (): Promise<number> => {
      const want = (watcher.totals.a ?? 0) + onN3.length;
      const t1 = Date.now();
      buzz(onN3, 1);
      await watcher.until(() => (watcher.totals.a ?? 0) >= want, "n3's buzzes seen elsewhere", 10_000);
      return Date.now() - t1;
    };
    const before = await visibility();
    const spike = await d.faults.start({ kind: "latency", node: "n3", link: "mc", ms: 150 });
    const loss = await d.faults.start({ kind: "loss", node: "n3", link: "mc", pct: 10 });
    const during = await visibility();
    // The increment must cross the delayed link once (+150 ms) before any other node can read it.
    assert.ok(
      during >= 150 && during > before,
      `the spike is real: n3's incr crosses +150 ms one way (visible after ${during} ms, ${before} ms before)`,
    );
    const t0 = Date.now();
    for (let round = 0; round < 6; round++) {
      buzz([...onN3, ...others], 5);
      await a.allAcked();
    }
    const faulted = Date.now() - t0;
    await d.faults.stop(spike);
    await d.faults.stop(loss);
    buzz([...onN3, ...others], 5);
    await a.allAcked();
    const v = await closeAndVerify(d, a, "sc", "a");
    assert.equal(v.record, 12 * 35 + 2 * onN3.length);
    t.diagnostic(`visibility of n3's buzzes: ${before} ms before, ${during} ms during the fault; 6 rounds under it: ${faulted} ms`);
  });

  test("(e) SIGKILL n1 mid-batch, restarted: its journal replays, nothing acknowledged lost, live == record", async (t) => {
    const a = await start(d, "se");
    audiences.push(a);
    const victims = await viewers(d, a, "se", "e1-", 6, d.nodes[0]!.wsUrl);
    const others = await viewers(d, a, "se", "e-", 6);
    let buzzing = true;
    const loop = (async () => {
      while (buzzing) {
        buzz([...victims, ...others], 1);
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // steady state: n1 has committed batches of this act before it dies (mid-batch, not before its first)
    await waitFor(() => a.counted(victims) >= 600, { what: "n1 counting its viewers' buzzes" });
    const kill = await d.faults.start({ kind: "signal", target: "n1", signal: "SIGKILL" });
    const killedAt = d.faults.log.at(-1)!.startedAt;
    buzzing = false;
    await loop;
    await Promise.all(victims.map((c) => c.v.closed));
    await a.allAcked(others);
    const bound = a.countedBetween(victims, killedAt - PERSIST_INTERVAL_MS - 2 * TICK_MS, killedAt);
    await d.faults.stop(kill); // n1 starts again
    const v = await closeAndVerify(d, a, "se", "a", { lostBound: bound, via: 1, timeoutMs: 30_000 });
    const span = lossSpanMs(victims, killedAt, v.lost);
    t.diagnostic(
      `SIGKILL of n1: acked ${v.acked}, record ${v.record}, lost ${v.lost} (acked over the last ${span} ms before the kill), bound ${bound}, live - record ${v.liveOverRecord}`,
    );
    assert.equal(v.lost, 0, `nothing acknowledged lost (the window without the journal: ${bound})`);
    assert.equal(v.liveOverRecord, 0, "live == record once n1 replayed and the close reconciled");
  });
});
