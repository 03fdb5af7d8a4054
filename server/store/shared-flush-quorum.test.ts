/**
 * The memcached flush quorum's membership logic over an in-process cache, on a virtual clock (a
 * waiting unit's poll advances it): it answers true only once every unit it counts has flushed
 * the tick, a joiner never stands in for a counted unit, and a unit that stopped only delays the
 * others to their deadline. The real thing over memcached and real nodes: test/early-publish.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCache } from "../cache/memory-cache.ts";
import { silentLogger } from "../ops/logger.ts";
import { SharedFlushQuorum } from "./shared-flush-quorum.ts";

const POLL_MS = 2;
const OFFSET_MS = 20;

function fleet(names: string[]) {
  const cache = new MemoryCache();
  let now = 0;
  const unit = () =>
    new SharedFlushQuorum(
      cache,
      {
        prefix: "t",
        pollMs: POLL_MS,
        clock: () => now,
        sleep: (ms) => ((now += ms), new Promise((r) => setImmediate(r))),
      },
      silentLogger,
    );
  const units = new Map(names.map((n) => [n, unit()]));
  return {
    add: (name: string) => units.set(name, unit()),
    at: (ms: number) => (now = ms),
    /** Unit `name`'s flush of tick k landed (ticks of 100 ms): resolves whether everyone's had. */
    land: (name: string, tick: number) => units.get(name)!.landed(tick, tick * 100 + OFFSET_MS),
    size: (name: string) => units.get(name)!.size,
  };
}

test("three units: true for the last to land, and for the others once they read the marks", async () => {
  const f = fleet(["a", "b", "c"]);
  f.at(5_000);
  const a = f.land("a", 50);
  const b = f.land("b", 50);
  await f.land("c", 50);
  assert.deepEqual([await a, await b], [true, true]);
  assert.equal(f.size("a"), 3);
});

test("a unit joins while a counted unit has not flushed: no true before that unit's flush", async () => {
  const f = fleet(["a", "b", "c"]);
  // Window 5: a, b and c flush tick 50; all of them are members.
  f.at(5_000);
  await Promise.all([f.land("a", 50), f.land("b", 50), f.land("c", 50)]);
  // Window 6: d joins; b and d flushed tick 60, c's flush is still in flight when a lands.
  f.add("d");
  f.at(6_000);
  const b = f.land("b", 60);
  const d = f.land("d", 60);
  const a = await f.land("a", 60);
  assert.equal(a, false, "a: c is counted (last window) and has not flushed: wait to the deadline");
  assert.equal(await b, false);
  assert.equal(await d, false);
  assert.equal(f.size("a"), 4, "a, b, c and d are waited for");
  // Tick 61: every one of them flushes, c last.
  f.at(6_100);
  const early = [f.land("a", 61), f.land("b", 61), f.land("d", 61)];
  assert.equal(await f.land("c", 61), true);
  assert.deepEqual(await Promise.all(early), [true, true, true]);
});

test("a unit that stopped delays the others to their deadline only, and drops out after two windows", async () => {
  const f = fleet(["a", "b", "c"]);
  f.at(5_000);
  await Promise.all([f.land("a", 50), f.land("b", 50), f.land("c", 50)]);
  // c stops (SIGSTOP or death): it flushes nothing more.
  f.at(5_100);
  const b = f.land("b", 51);
  assert.equal(await f.land("a", 51), false, "c is still a member: the deadline");
  assert.equal(await b, false);
  f.at(6_000);
  const b60 = f.land("b", 60);
  assert.equal(await f.land("a", 60), false, "window 6: c still counted from window 5");
  assert.equal(await b60, false);
  f.at(7_000);
  const b70 = f.land("b", 70);
  assert.equal(await f.land("a", 70), true, "window 7: the last window's members (a, b) flushed");
  assert.equal(await b70, true);
  assert.equal(f.size("a"), 2);
});
