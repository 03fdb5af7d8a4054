/**
 * One run of the interleaving harness: builds the fleet of a Plan on one virtual clock, plays the
 * plan (buzzes, producer changes, memcached losses, request faults), then calms every link, closes
 * voting everywhere, lets reconciliation and the record writers finish, and checks the invariants:
 *  - while running: no node publishes a decrease, nor a total above the buzzes accepted;
 *  - at the end, per show epoch and act: live (memcached) == record == audit == acks counted, and
 *    under `once` no viewer counted (acked, or in the audit) twice.
 */
import { DualCache } from "../../server/cache/dual-cache.ts";
import { silentLogger, type Logger } from "../../server/ops/logger.ts";
import { MemoryRecord } from "../../server/record/memory-record.ts";
import { ShowRegistry } from "../../server/shows/show-registry.ts";
import { counterKey } from "../../server/store/counter-state.ts";
import { SharedStore } from "../../server/store/shared-store.ts";
import { Rng } from "../soak/rng.ts";
import { FaultyCache, MemcachedModel, cacheFailure } from "./faulty-cache.ts";
import { FaultyRecord, recordFailure } from "./faulty-record.ts";
import { Ledger, actKey } from "./ledger.ts";
import { Link, faultKey, type Network } from "./link.ts";
import { ACTIVE_MS, ACTS, type Plan } from "./plan.ts";
import { RecordShowSource } from "./record-show-source.ts";
import { Sim } from "./sim.ts";
import { SimNode } from "./sim-node.ts";

const TICK_MS = 100;
const SETTLED_TICK_MS = 1000;
const PERSIST_MS = 1000;
const RECONCILE_DELAY_MS = 1000;
/** The close reconciler's window (close-reconciler.ts) plus a margin. */
const RECONCILE_WINDOW_MS = 31_000;
const CACHE_TIMEOUT_MS = 500;
const RECORD_TIMEOUT_MS = 2000;

export interface RunResult {
  violations: string[];
  /** Events the run took (its interleaving's length). */
  steps: number;
  trace: string[];
}

export async function runPlan(plan: Plan, opts: { trace?: boolean } = {}): Promise<RunResult> {
  const rng = new Rng(plan.seed);
  const sim = new Sim(rng.fork());
  const trace: string[] = [];
  const net: Network = {
    calm: true,
    faults: new Map(plan.faults.map((f) => [faultKey(f.backend, f.node, f.op), f])),
    cuts: [],
    inFlight: 0,
    trace: opts.trace ? trace : null,
  };
  const log: Logger = opts.trace ? traceLogger(sim, trace) : silentLogger;
  const memcached = new MemcachedModel(sim);
  const record = new MemoryRecord();
  await record.migrate();
  const ledger = new Ledger();
  const showIds = plan.shows.map((_, i) => `s${i}`);
  const policyOf = (id: string) => plan.shows[Number(id.slice(1))] ?? "once";

  const nodes: SimNode[] = [];
  const sources: RecordShowSource[] = [];
  for (let i = 0; i < plan.nodes; i++) {
    const global = new FaultyCache(memcached, new Link(sim, rng.fork(), net, "cache", i, true, CACHE_TIMEOUT_MS, cacheFailure));
    const rec = new FaultyRecord(record, new Link(sim, rng.fork(), net, "record", i, false, RECORD_TIMEOUT_MS, recordFailure));
    const nodeLog = opts.trace ? prefixed(log, `n${i}`) : log;
    const store = new SharedStore(
      new DualCache(global, { l1TtlMs: 100, now: () => sim.now() }),
      global,
      rec,
      { nodeId: `n${i}`, persistIntervalMs: PERSIST_MS, reconcileDelayMs: RECONCILE_DELAY_MS, durable: true, tickMs: TICK_MS, clock: sim },
      nodeLog,
    );
    const source = new RecordShowSource(rec);
    sources.push(source);
    const shows = new ShowRegistry(source, { clock: sim, tickMs: TICK_MS, log: nodeLog });
    nodes.push(new SimNode(i, store, shows, policyOf, ledger, nodeLog));
  }
  const drive = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    void p.finally(() => (done = true)).catch(() => undefined);
    while (!done) await sim.runUntil(sim.now() + 10);
    return p;
  };

  // Setup, calm: every node starts; node 0 creates the shows with act 0 open.
  for (const n of nodes) await drive(n.store.start());
  const first = nodes[0]!;
  for (const id of showIds) {
    await drive(first.shows.put(id, { title: id, acts: Array.from({ length: ACTS }, (_, a) => ({ id: `a${a}`, name: `act ${a}` })) }));
    await drive(first.shows.setStage(id, { act: "a0", open: true }));
  }
  for (const n of nodes.slice(1)) await drive(n.shows.load());

  // The active phase: actions and faults, times relative to t0.
  const t0 = sim.now();
  net.cuts = plan.cuts.map((c) => ({ ...c, from: c.from + t0, to: c.to + t0 }));
  net.calm = false;
  let tickEvery = TICK_MS;
  let running = true;
  for (const n of nodes) {
    const tick = (): void => {
      if (!running) return;
      void n.tick();
      sim.setTimer(tick, tickEvery);
    };
    sim.setTimer(tick, rng.int(0, TICK_MS));
    let polling = false;
    const poll = (): void => {
      if (!running) return;
      if (!polling) {
        polling = true;
        sources[n.index]!.poll(n.shows.versions())
          .then((recs) => recs.forEach((r) => n.shows.applyRemote(r)))
          .catch((err: unknown) => log.debug("show poll failed", { err: String(err) }))
          .finally(() => (polling = false));
      }
      sim.setTimer(poll, tickEvery);
    };
    sim.setTimer(poll, rng.int(0, TICK_MS));
  }
  async function liveCoversRecord(): Promise<boolean> {
    for (const key of ledger.keys) {
      const [show, epoch, act] = key.split("|") as [string, string, string];
      const raw = await memcached.inner.get(counterKey("bc", show, epoch, act));
      const rec = (await record.countTotals(show, epoch)).get(act) ?? 0;
      if (raw !== null ? Number(raw) < rec : rec > 0) return false;
    }
    return true;
  }
  for (const a of plan.actions) {
    sim.setTimer(
      () => {
        const nodeOf = (i: number) => nodes[i % nodes.length]!;
        if (a.do === "flush_all") {
          net.trace?.push(`${sim.now()}ms memcached flush_all`);
          memcached.flushAll();
          return;
        }
        const show = showIds[a.show % showIds.length]!;
        if (a.do === "buzz") {
          const r = nodeOf(a.node).buzz(show, `v:${a.viewer}`, a.act, sim.now());
          net.trace?.push(`${sim.now()}ms buzz ${show} a${a.act} v:${a.viewer} on n${a.node}: ${r}`);
        } else {
          const shows = nodeOf(a.node).shows;
          const change = a.do === "reset" ? shows.reset(show) : shows.setStage(show, { act: `a${a.act}`, open: a.open });
          net.trace?.push(
            `${sim.now()}ms producer on n${a.node}: ${a.do === "reset" ? "reset" : `a${a.act} ${a.open ? "open" : "close"}`} ${show}`,
          );
          change.catch((err: unknown) => net.trace?.push(`${sim.now()}ms producer change failed: ${String(err)}`));
        }
      },
      t0 + a.t - sim.now(),
    );
  }
  await sim.runUntil(t0 + ACTIVE_MS);

  // Calm: no more faults; a producer closes voting everywhere, and the fleet settles.
  net.calm = true;
  for (const id of showIds) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = first.shows.get(id);
      if (cur && !cur.stage.open && cur.next === null) break;
      await drive(first.shows.setStage(id, { act: null, open: false }).catch(() => undefined));
    }
  }
  const closedAt = sim.now();
  tickEvery = SETTLED_TICK_MS;
  // Settled: nothing held, unpersisted or in flight anywhere. Then the remaining reconciliation
  // passes can only raise live where the record has more, so once live >= record on every counter
  // the rest of the window changes nothing and the run may end early.
  // Every node must hold the record's version of each show, not merely agree with node 0: a change
  // saved in the record whose answer is still on its way (or that no node polled yet) leaves every
  // node agreeing on the older version for a moment.
  const quiet = async (): Promise<boolean> => {
    if (!(nodes.every((n) => n.settled()) && ledger.undecided === 0 && net.inFlight === 0)) return false;
    for (const id of showIds) {
      const truth = (await record.loadShow(id))?.version;
      if (!nodes.every((n) => n.shows.get(id)?.version === truth)) return false;
    }
    return true;
  };
  const windowEnd = closedAt + RECONCILE_DELAY_MS + RECONCILE_WINDOW_MS;
  while (sim.now() < windowEnd && !((await quiet()) && (await liveCoversRecord()))) await sim.runUntil(sim.now() + 1000);
  const deadline = sim.now() + 60_000;
  while (!(await quiet()) && sim.now() < deadline) await sim.runUntil(sim.now() + 1000);
  const settled = nodes.every((n) => n.settled()) && ledger.undecided === 0;
  // One more tick everywhere, then stop.
  await sim.runUntil(sim.now() + 2 * SETTLED_TICK_MS);
  running = false;
  for (const n of nodes) n.store.reconciler.stop();
  await sim.runUntil(sim.now() + 10_000);

  const violations = [...ledger.violations];
  // Producer changes are linearizable: once settled, every node holds the record's state of each show.
  for (const id of showIds) {
    const truth = await record.loadShow(id);
    for (const n of nodes) {
      const s = n.shows.get(id);
      if (truth && s && (s.version !== truth.version || s.epoch !== truth.epoch || s.stage.open !== truth.stage.open)) {
        violations.push(
          `node ${n.index} holds ${id} at version ${s.version} epoch ${s.epoch}, the record ${truth.version} epoch ${truth.epoch}`,
        );
      }
    }
  }
  if (!settled) violations.push("the fleet did not settle within 60 s of calm (something stays held or unpersisted)");
  for (const id of showIds) {
    const epochs = new Set<string>();
    for (const k of ledger.keys) if (k.startsWith(`${id}|`)) epochs.add(k.split("|")[1]!);
    for (const [, e] of first.epochs()) if (first.shows.get(id)?.epoch === e) epochs.add(e);
    for (const epoch of epochs) {
      const [counts, audit, page] = await Promise.all([
        record.countTotals(id, epoch),
        record.auditTotals(id, epoch),
        record.auditPage(id, epoch, null, 10_000),
      ]);
      const current = nodes.every((n) => n.epochs().get(id) === epoch);
      for (let a = 0; a < ACTS; a++) {
        const act = `a${a}`;
        const key = actKey(id, epoch, act);
        const acks = ledger.acks.get(key) ?? 0;
        const rec = counts.get(act) ?? 0;
        const aud = audit.get(act) ?? 0;
        const raw = await memcached.inner.get(counterKey("bc", id, epoch, act));
        const live = raw === null ? null : Number(raw);
        const where = `${key} (${policyOf(id)})`;
        const seen = `live ${String(live)}, record ${rec}, audit ${aud}, acks counted ${acks}`;
        if (rec !== acks || aud !== acks) violations.push(`${where}: ${seen}`);
        else if (live === null ? current && acks > 0 : live !== acks) violations.push(`${where}: ${seen}`);
        for (const n of nodes) {
          const p = n.published.get(key) ?? 0;
          if (p > acks) violations.push(`${where}: node ${n.index} published ${p}, above the ${acks} counted`);
        }
        if (policyOf(id) === "once") {
          for (const r of page.rows) if (r.act === act && r.count !== 1) violations.push(`${where}: ${r.viewer} has ${r.count} audit rows`);
        }
      }
    }
  }
  return { violations: [...new Set(violations)], steps: sim.steps, trace };
}

function traceLogger(sim: Sim, trace: string[]): Logger {
  const line =
    (level: string) =>
    (msg: string, fields?: object): void => {
      if (level !== "debug" || process.env.IL_DEBUG)
        trace.push(`${sim.now()}ms ${level} ${msg} ${fields ? JSON.stringify(fields, errText) : ""}`);
    };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

function prefixed(log: Logger, who: string): Logger {
  const f = (fields?: object) => ({ node: who, ...fields });
  return {
    debug: (m, x) => log.debug(m, f(x)),
    info: (m, x) => log.info(m, f(x)),
    warn: (m, x) => log.warn(m, f(x)),
    error: (m, x) => log.error(m, f(x)),
  };
}

function errText(_k: string, v: unknown): unknown {
  return v instanceof Error ? `${v.name}: ${v.message}` : v;
}
