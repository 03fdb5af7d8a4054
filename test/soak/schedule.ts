/**
 * The soak's schedules, drawn from the seed: faults (kind, target, start, duration; several may
 * overlap) and the producers' stage changes. Guarantees: the same seed and phase length give the
 * same schedule; every fault ends before `endMs`; at most MAX_OVERLAP faults are active at once;
 * at most one node process is down (killed, terminated or stopped) at a time, so HAProxy always has
 * two nodes; a SIGKILL never overlaps a fault on the record path (MariaDB paused, restarted,
 * partitioned, slowed or delayed past its timeout for that node): the documented SIGKILL window
 * assumes the record path is healthy, and a kill during a record outage loses everything since the
 * outage began. A late fault occupies its link until what it held is delivered (its delay after it
 * stops); a duplicate NODE_ID never overlaps a node being down.
 */
import type { FaultSpec } from "../harness/faults.ts";
import type { Rng } from "./rng.ts";

export interface ScheduledFault {
  atMs: number;
  durationMs: number;
  spec: FaultSpec;
}

export interface StageChange {
  atMs: number;
  show: string;
  act: string;
  open: boolean;
  /**
   * A second producer's conflicting change, sent to another node at the same moment (admin changes
   * are a compare-and-swap: one wins, the other is answered 409 and applied nowhere).
   */
  rival?: { act: string; open: boolean };
}

const MAX_OVERLAP = 2;
const NODES = ["n1", "n2", "n3"];

function drawSpec(rng: Rng): FaultSpec {
  const node = rng.pick(NODES);
  const link = rng.pick(["mc", "db"] as const);
  switch (rng.int(0, 13)) {
    case 10:
      // Past memjs's 500 ms timeout: increments and claim adds the node gave up on land later.
      return { kind: "late", node, link: "mc", ms: rng.int(700, 2000) };
    case 11:
      // Past MySQL's 10 s statement timeout: a batch the node saw fail may commit later.
      return { kind: "late", node, link: "db", ms: rng.int(10_500, 12_000) };
    case 12:
      return { kind: "duplicate", target: node };
    case 0:
      return { kind: "partition", from: node, to: link, oneWay: rng.next() < 0.5 };
    case 1:
      return { kind: "partition", from: rng.next() < 0.5 ? "lb" : node, to: node, oneWay: rng.next() < 0.5 };
    case 2:
      return { kind: "latency", node, link, ms: rng.int(50, 300) };
    case 3:
      return { kind: "loss", node, link, pct: rng.int(5, 30) };
    case 4:
      return { kind: "pause", target: node };
    case 5:
      return { kind: "pause", target: link };
    case 6:
    case 7:
      return { kind: "signal", target: node, signal: "SIGKILL" };
    case 8:
      return { kind: "signal", target: node, signal: "SIGTERM" };
    default:
      return { kind: "restart", target: link };
  }
}

/** Normalise "lb -> nX" partitions drawn as "nX -> nX". */
function fix(spec: FaultSpec): FaultSpec {
  return spec.kind === "partition" && spec.from === spec.to ? { ...spec, from: "lb" } : spec;
}

// A duplicate NODE_ID counts as a node fault: while the node is down its lease lapses and the
// duplicate may rightly take over, which is not the overlap this fault is about.
const nodeDown = (s: FaultSpec): boolean =>
  (s.kind === "signal" || s.kind === "pause" || s.kind === "duplicate") && NODES.includes(s.target);
const recordPath = (s: FaultSpec): boolean =>
  (s.kind === "pause" && s.target === "db") ||
  (s.kind === "restart" && s.target === "db") ||
  (s.kind === "partition" && (s.to === "db" || s.from === "db")) ||
  ((s.kind === "latency" || s.kind === "late" || s.kind === "loss") && s.link === "db");
const isKill = (s: FaultSpec): boolean => s.kind === "signal" && s.signal === "SIGKILL";

function durationOf(spec: FaultSpec, rng: Rng): number {
  if (spec.kind === "restart") return 0;
  if (spec.kind === "pause" && (spec.target === "mc" || spec.target === "db")) return rng.between(1000, 3000);
  return rng.between(2000, 8000);
}

/** How long a fault occupies its targets: its duration, plus the restart itself (MariaDB takes seconds), plus 1.5 s of recovery. */
const busyMs = (f: ScheduledFault): number =>
  f.durationMs + 1500 + (f.spec.kind === "restart" ? (f.spec.target === "db" ? 10_000 : 3000) : f.spec.kind === "late" ? f.spec.ms : 0);

/** Faults from `startMs` to `endMs` (phase-relative), a new one every `meanGapMs` on average. */
export function faultSchedule(rng: Rng, startMs: number, endMs: number, meanGapMs: number): ScheduledFault[] {
  const out: ScheduledFault[] = [];
  const clash = (f: ScheduledFault): boolean => {
    const overlapping = out.filter((o) => o.atMs < f.atMs + busyMs(f) && f.atMs < o.atMs + busyMs(o));
    if (overlapping.length >= MAX_OVERLAP) return true;
    if (nodeDown(f.spec) && overlapping.some((o) => nodeDown(o.spec))) return true;
    if (isKill(f.spec) && overlapping.some((o) => recordPath(o.spec))) return true;
    if (recordPath(f.spec) && overlapping.some((o) => isKill(o.spec))) return true;
    if (f.spec.kind === "restart" && overlapping.some((o) => o.spec.kind === "restart" || o.spec.kind === "pause")) return true;
    if (f.spec.kind === "pause" && overlapping.some((o) => o.spec.kind === "restart")) return true;
    return false;
  };
  for (let t = startMs; t < endMs; t += -Math.log(1 - rng.next()) * meanGapMs) {
    for (let attempt = 0; attempt < 6; attempt++) {
      const spec = fix(drawSpec(rng));
      const f: ScheduledFault = { atMs: Math.round(t), durationMs: Math.round(Math.min(durationOf(spec, rng), endMs - t)), spec };
      if (f.durationMs < 500 && spec.kind !== "restart") continue;
      if (!clash(f)) {
        out.push(f);
        break;
      }
    }
  }
  return out;
}

/**
 * Per show: voting opens on the first act at once; then, until `endMs`, the producer closes voting
 * (a pause of 1-3 s) or moves straight to the next act, every 15-30 s (scaled down for short phases).
 * Acts cycle, so an act may open again (under `once` its earlier voters get `duplicate`). Half the
 * closes are followed by a reopen of the same act 1-3 s later, well inside the 30 s of
 * reconciliation after the close; a quarter of the moves to the next act race a rival change
 * (the act after it) sent to another node at the same moment.
 */
export function stageSchedule(rng: Rng, shows: Record<string, readonly string[]>, endMs: number): StageChange[] {
  const out: StageChange[] = [];
  const span = Math.min(30_000, Math.max(6000, endMs / 4));
  for (const [show, acts] of Object.entries(shows)) {
    let i = 0;
    out.push({ atMs: 0, show, act: acts[0]!, open: true });
    for (let t = rng.between(span / 2, span); t < endMs - 2000; t += rng.between(span / 2, span)) {
      if (rng.next() < 0.4) {
        out.push({ atMs: Math.round(t), show, act: acts[i % acts.length]!, open: false });
        t += rng.between(1000, 3000);
        if (rng.next() < 0.5) {
          out.push({ atMs: Math.round(t), show, act: acts[i % acts.length]!, open: true });
          t += rng.between(span / 4, span / 2);
        }
      }
      i++;
      const change: StageChange = { atMs: Math.round(t), show, act: acts[i % acts.length]!, open: true };
      if (rng.next() < 0.25) change.rival = { act: acts[(i + 1) % acts.length]!, open: true };
      out.push(change);
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}
