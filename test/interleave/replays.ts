/**
 * Minimal replays the harness found, kept as regression cases: each names what it broke; every
 * one must now run with no violation. Add a case by saving a printed minimal replay here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Plan } from "./plan.ts";

export interface Replay {
  name: string;
  /** What the plan broke, and why. */
  finding: string;
  plan: Plan;
}

const DIR = join(import.meta.dirname, "replays");

export function replays(): Replay[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ name: f.slice(0, -5), ...(JSON.parse(readFileSync(join(DIR, f), "utf8")) as Omit<Replay, "name">) }));
}
