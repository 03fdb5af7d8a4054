/**
 * A run of the interleaving harness, as data: the fleet, the shows, what producers and viewers do
 * and when, and which requests fail how. fast-check generates plans from a seed and shrinks a
 * failing one to a minimal replay (fewer actions, fewer faults, earlier times).
 */
import fc from "fast-check";
import type { Cut, Fault } from "./link.ts";

export type Policy = "once" | "unlimited";

export type Action =
  /** Viewer `viewer` of show `show` buzzes act `act` through node `node` (a reconnect if the node changed). */
  | { t: number; do: "buzz"; show: number; viewer: number; node: number; act: number }
  /** A producer on node `node` opens or closes voting for act `act`. */
  | { t: number; do: "stage"; show: number; node: number; act: number; open: boolean }
  /** A producer on node `node` starts a new epoch. */
  | { t: number; do: "reset"; show: number; node: number }
  /** memcached loses every key (flush_all, restart). */
  | { t: number; do: "flush_all" };

export interface Plan {
  /** Drives the ordinary delays of every request and the order of simultaneous events. */
  seed: number;
  nodes: number;
  shows: Policy[];
  actions: Action[];
  faults: Fault[];
  cuts: Cut[];
}

/** Virtual ms during which actions and faults happen; then the run calms down and settles. */
export const ACTIVE_MS = 4000;
export const ACTS = 2;
export const VIEWERS = 6;

export interface PlanShape {
  /** Allow producer stage changes and resets during the run (else only the final close). */
  producers: boolean;
  /** Allow flush_all. */
  losses: boolean;
}

export function planArbitrary(shape: PlanShape = { producers: true, losses: true }): fc.Arbitrary<Plan> {
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      nodes: fc.integer({ min: 2, max: 3 }),
      shows: fc.array(fc.constantFrom<Policy>("once", "unlimited"), { minLength: 1, maxLength: 2 }),
    })
    .chain((base) => {
      const t = fc.integer({ min: 0, max: ACTIVE_MS });
      const show = fc.integer({ min: 0, max: base.shows.length - 1 });
      const node = fc.integer({ min: 0, max: base.nodes - 1 });
      const act = fc.integer({ min: 0, max: ACTS - 1 });
      const buzz = fc.record({ t, do: fc.constant("buzz" as const), show, viewer: fc.integer({ min: 0, max: VIEWERS - 1 }), node, act });
      const stage = fc.record({ t, do: fc.constant("stage" as const), show, node, act, open: fc.boolean() });
      const reset = fc.record({ t, do: fc.constant("reset" as const), show, node });
      const flush = fc.record({ t, do: fc.constant("flush_all" as const) });
      const kinds: Array<fc.Arbitrary<Action>> = [buzz, buzz, buzz, buzz];
      if (shape.producers) kinds.push(stage, reset);
      if (shape.losses) kinds.push(flush);
      const backend = fc.constantFrom<"cache" | "record">("cache", "cache", "record");
      const fault = fc.record({
        backend,
        node,
        op: fc.integer({ min: 0, max: 400 }),
        kind: fc.constantFrom("slow", "timeout-late", "timeout-late", "timeout-applied", "timeout-lost", "error"),
        lateMs: fc.integer({ min: 0, max: 3000 }),
      }) as fc.Arbitrary<Fault>;
      const cut = fc
        .record({ backend, node, from: t, len: fc.integer({ min: 100, max: 3000 }) })
        .map(({ len, ...c }): Cut => ({ ...c, to: c.from + len }));
      return fc.record({
        seed: fc.constant(base.seed),
        nodes: fc.constant(base.nodes),
        shows: fc.constant(base.shows),
        actions: fc.array(fc.oneof(...kinds), { maxLength: 40 }).map((a) => [...a].sort((x, y) => x.t - y.t)),
        faults: fc.array(fault, { maxLength: 30 }),
        cuts: fc.array(cut, { maxLength: 3 }),
      });
    });
}
