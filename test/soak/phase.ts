/**
 * One soak phase: a fresh deployment on simulated hosts (memcached, MariaDB, HAProxy, three nodes)
 * under one BUZZ_POLICY with viewer tokens required, three shows of three acts plus the probe show,
 * an audience buzzing through HAProxy the whole time, producers changing the stage and faults
 * injected on the seeded schedules. At the end: faults healed, every node UP, voting closed, the
 * system settled, then the invariants (verify.ts). Everything started is stopped, also on failure.
 */
import { randomBytes } from "node:crypto";
import type { FaultSpec } from "../harness/faults.ts";
import { startSimulatedHosts, type SimDeployment } from "../harness/hosts.ts";
import { admin } from "../harness/server.ts";
import { pollUntil } from "../harness/wait.ts";
import { PROBE_ACT, PROBE_SHOW, Prober, type Visibility } from "./probe.ts";
import { sleep, type Rng } from "./rng.ts";
import { faultSchedule, stageSchedule, type ScheduledFault, type StageChange } from "./schedule.ts";
import { Tally } from "./tally.ts";
import { verifyPhase, settle, type PhaseVerdict } from "./verify.ts";
import { SoakViewer } from "./viewer.ts";

export const TICK_MS = 50;
export const PERSIST_INTERVAL_MS = 200;
/** Connections cut by a kill drop within this long after it (HAProxy notices the reset at once). */
const ATTRIBUTION_MS = 3000;
const SHOWS: Record<string, readonly string[]> = { s1: ["a", "b", "c"], s2: ["a", "b", "c"], s3: ["a", "b", "c"] };

export interface PhaseOptions {
  policy: "once" | "unlimited";
  ms: number;
  rng: Rng;
  viewersPerShow: number;
  /** Pause between one viewer's buzzes, ms. */
  pace: [number, number];
  log: (line: string) => void;
}

export interface KillReport {
  node: string;
  atS: number;
  connsCut: number;
  /** ms since the last act opened on any show (a kill before an act's first commit was the worst case before the journal). */
  sinceActOpenMs: number;
}

export interface PhaseResult extends PhaseVerdict {
  policy: string;
  faults: number;
  faultKinds: Record<string, number>;
  kills: KillReport[];
  answered: number;
  decreases: string[];
  vis: Visibility;
  races: Races;
}

const kindOf = (s: FaultSpec): string =>
  s.kind === "signal" ? s.signal : s.kind === "partition" && s.oneWay ? "partition-one-way" : s.kind === "late" ? `late-${s.link}` : s.kind;

export async function runPhase(o: PhaseOptions): Promise<PhaseResult> {
  const secret = randomBytes(32).toString("hex");
  const d = await startSimulatedHosts({
    env: {
      BUZZ_POLICY: o.policy,
      VIEWER_TOKEN_SECRET: secret,
      TICK_MS: String(TICK_MS),
      PERSIST_INTERVAL_MS: String(PERSIST_INTERVAL_MS),
      RATE_LIMIT_PER_SEC: "100000",
      RATE_LIMIT_BURST: "100000",
    },
  });
  try {
    return await drive(d, o, new TextEncoder().encode(secret));
  } finally {
    await d.stop();
  }
}

/** A producer's admin call, through whichever node answers (some may be down). */
async function produce(d: SimDeployment, method: string, path: string, body: unknown, deadlineMs = 30_000): Promise<unknown> {
  const until = Date.now() + deadlineMs;
  for (let i = 0; ; i++) {
    try {
      return await admin(d.nodes[i % d.nodes.length]!, method, path, body);
    } catch (err) {
      if (Date.now() > until) throw new Error(`producer ${method} ${path}: ${(err as Error).message}`, { cause: err });
      await sleep(200);
    }
  }
}

async function drive(d: SimDeployment, o: PhaseOptions, secret: Uint8Array): Promise<PhaseResult> {
  const rng = o.rng;
  const faults = faultSchedule(rng.fork(), 3000, o.ms - 5000, 4000);
  const stages = stageSchedule(rng.fork(), SHOWS, o.ms);
  for (const [show, acts] of Object.entries({ ...SHOWS, [PROBE_SHOW]: [PROBE_ACT] }))
    await produce(d, "PUT", `/api/shows/${show}`, { title: show, acts: acts.map((id) => ({ id, name: id })) });
  await produce(d, "POST", `/api/shows/${PROBE_SHOW}/stage`, { act: PROBE_ACT, open: true });
  const onStage = new Map<string, string>([[PROBE_SHOW, PROBE_ACT]]);
  const opened: number[] = [];
  const tally = new Tally();
  let stopped = false;
  const isStopped = (): boolean => stopped;
  const t0 = Date.now();
  const races: Races = { races: 0, conflicts: 0, bothOk: 0 };
  const stageLoop = runStages(d, stages, t0, onStage, opened, races, o.log);
  const viewers = Object.keys(SHOWS).flatMap((show) =>
    Array.from(
      { length: o.viewersPerShow },
      (_, i) =>
        new SoakViewer({ url: d.lb.wsUrl, show, sub: `${show}-v${i}`, secret, tally, rng: rng.fork(), stopped: isStopped, pace: o.pace }),
    ),
  );
  const prober = new Prober(
    d.nodes.map((n) => n.wsUrl),
    secret,
    tally,
    d.faults,
    rng.fork(),
    isStopped,
    (line) => o.log(`${o.policy}: ${line}`),
  );
  const kills: Array<{ node: string; at: number }> = [];
  const faultErrors: string[] = [];
  const faultTasks = faults.map((f) => runFault(d, f, t0, kills, faultErrors, o.log));
  await sleep(o.ms);
  await Promise.all([...faultTasks, stageLoop]);
  await d.faults.stopAll();
  stopped = true;
  await Promise.all([...viewers.map((v) => v.done), prober.done]);
  o.log(`${o.policy}: ${faults.length} faults done, ${tally.sent} buzzes sent; settling`);
  await d.lb.waitForStats((s) => s.every((x) => x.status === "UP"), "every node UP after the faults", 60_000);
  for (const [show, act] of onStage) await produce(d, "POST", `/api/shows/${show}/stage`, { act, open: false });
  const reports = kills.map((k): KillReport => {
    const lastOpen = Math.max(...opened.filter((t) => t <= k.at));
    const connsCut = tally.connsCut(k.at, ATTRIBUTION_MS);
    return { node: k.node, atS: Math.round((k.at - t0) / 100) / 10, connsCut, sinceActOpenMs: k.at - lastOpen };
  });
  const { audits, unsettled } = await settle(d, [...Object.keys(SHOWS), PROBE_SHOW], 60_000);
  const verdict = await verifyPhase(d, audits, tally, { once: o.policy === "once" });
  if (unsettled !== null) verdict.violations.push(`not settled: ${unsettled}`);
  if (tally.decreases.length > 0)
    verdict.violations.push(`${tally.decreases.length} totals decreased: ${tally.decreases.slice(0, 5).join("; ")}`);
  verdict.violations.push(...faultErrors);
  for (const f of d.faults.log) {
    if (f.spec.kind === "duplicate" && f.outcome === "listened")
      verdict.violations.push(`a second process with NODE_ID ${f.spec.target} listened while the first was alive`);
  }
  verdict.violations.push(...(await showsAgree(d, [...Object.keys(SHOWS), PROBE_SHOW])));
  const faultKinds: Record<string, number> = {};
  for (const f of faults) faultKinds[kindOf(f.spec)] = (faultKinds[kindOf(f.spec)] ?? 0) + 1;
  return {
    ...verdict,
    policy: o.policy,
    faults: faults.length,
    faultKinds,
    kills: reports,
    answered: tally.answered,
    decreases: tally.decreases,
    vis: prober.vis,
    races,
  };
}

/** Every node holds one state of each show (one version, one epoch, one stage), polled for 10 s. */
async function showsAgree(d: SimDeployment, shows: readonly string[]): Promise<string[]> {
  const seen = async (show: string): Promise<Set<string>> => {
    const states = await Promise.all(
      d.nodes.map(async (n) => {
        const s = (await admin(n, "GET", `/api/shows/${show}`)) as { version: number; epoch: string; stage: unknown };
        return JSON.stringify([s.version, s.epoch, s.stage]);
      }),
    );
    return new Set(states);
  };
  const out: string[] = [];
  for (const show of shows) {
    let states = new Set<string>();
    await pollUntil(
      async () => (states = await seen(show)),
      (s) => s.size <= 1,
      `every node on one state of show ${show}`,
      10_000,
      200,
    ).catch(() => out.push(`nodes disagree on show ${show}: ${[...states].join(" vs ")}`));
  }
  return out;
}

async function runFault(
  d: SimDeployment,
  f: ScheduledFault,
  t0: number,
  kills: Array<{ node: string; at: number }>,
  errors: string[],
  log: (line: string) => void,
): Promise<void> {
  await sleep(t0 + f.atMs - Date.now());
  try {
    const id = await d.faults.start(f.spec);
    const rec = d.faults.log.find((r) => r.id === id)!;
    if (f.spec.kind === "signal" && f.spec.signal === "SIGKILL") kills.push({ node: f.spec.target, at: rec.startedAt });
    log(`fault ${id} at ${((rec.startedAt - t0) / 1000).toFixed(1)} s for ${f.durationMs} ms: ${JSON.stringify(f.spec)}`);
    await sleep(rec.startedAt + f.durationMs - Date.now());
    await d.faults.stop(id);
  } catch (err) {
    errors.push(`fault ${JSON.stringify(f.spec)} failed: ${(err as Error).message}`);
    log(`fault FAILED: ${JSON.stringify(f.spec)}: ${(err as Error).message}`);
  }
}

/** What the producers' races came to (admin changes are a compare-and-swap on the show version). */
export interface Races {
  races: number;
  /** Changes answered 409 conflict (applied nowhere). */
  conflicts: number;
  /** Races both of whose changes were answered ok (fine only when one was made after the other). */
  bothOk: number;
}

/**
 * Two producers on two nodes change one show's stage at the same moment; returns the act on stage
 * afterwards, as the fleet has it. Each answer must be 200 or 409 conflict (or a node that is
 * down); if neither was stored, the change is made again through any node.
 */
async function race(
  d: SimDeployment,
  s: StageChange,
  rival: { act: string; open: boolean },
  r: Races,
  log: (l: string) => void,
): Promise<string> {
  const k = s.atMs % d.nodes.length;
  const [a, b] = [d.nodes[k]!, d.nodes[(k + 1) % d.nodes.length]!];
  const path = `/api/shows/${s.show}/stage`;
  const answers = await Promise.allSettled([admin(a, "POST", path, { act: s.act, open: s.open }), admin(b, "POST", path, rival)]);
  const ok = answers.filter((x) => x.status === "fulfilled").length;
  const conflicts = answers.filter((x) => x.status === "rejected" && String(x.reason).includes("-> 409")).length;
  r.races++;
  r.conflicts += conflicts;
  if (ok === 2) r.bothOk++;
  log(`race ${s.show}: ${s.act} on ${k} vs ${rival.act} on ${(k + 1) % d.nodes.length}: ${ok} ok, ${conflicts} conflict`);
  if (ok === 0) await produce(d, "POST", path, { act: s.act, open: s.open });
  const shown = (await produce(d, "GET", `/api/shows/${s.show}`, undefined)) as { stage: { act: string | null } };
  return shown.stage.act ?? s.act;
}

async function runStages(
  d: SimDeployment,
  stages: readonly StageChange[],
  t0: number,
  onStage: Map<string, string>,
  opened: number[],
  races: Races,
  log: (line: string) => void,
): Promise<void> {
  for (const s of stages) {
    await sleep(t0 + s.atMs - Date.now());
    if (s.rival) {
      const act = await race(d, s, s.rival, races, log);
      onStage.set(s.show, act);
      if (s.open) opened.push(Date.now());
      continue;
    }
    await produce(d, "POST", `/api/shows/${s.show}/stage`, { act: s.act, open: s.open });
    onStage.set(s.show, s.act);
    if (s.open) opened.push(Date.now());
    log(`stage ${s.show}: ${s.act} ${s.open ? "open" : "closed"}`);
  }
}
