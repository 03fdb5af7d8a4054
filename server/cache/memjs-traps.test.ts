/**
 * The four memjs 1.3.2 traps listed in memcached-cache.ts, on a real memcached. Each test first
 * shows the trap with a bare memjs client (so the test would catch a regression to plain memjs),
 * then that MemcachedCache avoids it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "memjs";
import { startMemcached, type RunningMemcached } from "../../test/harness/memcached.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { rejectsWith } from "./cache.contract.ts";
import { MemcachedCache } from "./memcached-cache.ts";

const quiet = { log: (): void => {} };

/** Runs `fn` with every console method replaced by a recorder; resolves what was printed. */
async function captureConsole(fn: () => Promise<void>): Promise<string[]> {
  const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  // Restored onto console itself below, so `this` stays console.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const saved = methods.map((m) => console[m]);
  const printed: string[] = [];
  for (const m of methods) console[m] = (...args: unknown[]) => void printed.push(`${m}: ${args.map(String).join(" ")}`);
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
  }
  return printed;
}

describe("memjs traps, handled by MemcachedCache", () => {
  let mc: RunningMemcached;
  let cache: MemcachedCache;
  before(async () => {
    mc = await startMemcached();
    cache = new MemcachedCache({ servers: mc.address, timeoutMs: 200 });
  });
  after(async () => {
    await cache?.close();
    await mc?.stop();
  });

  test("(a) increment of a missing key: memjs creates it; incr resolves null and creates nothing", async () => {
    const raw = Client.create(mc.address, { logger: quiet });
    try {
      const r = await raw.increment("a:raw", 5, { initial: 0 });
      assert.equal(r.success, true);
      assert.equal((await raw.get("a:raw")).value?.toString(), "0", "memjs stored `initial` and ignored the amount");
    } finally {
      raw.close();
    }
    const before = Number((await mc.stats()).curr_items);
    assert.equal(await cache.incr("a:ours", 5), null);
    assert.equal(await cache.get("a:ours"), null);
    assert.equal(Number((await mc.stats()).curr_items), before, "no item was created");
  });

  test("(b) a timed-out increment: memjs's default retries apply it twice; ours at most once", async () => {
    await cache.set("b:raw", "0");
    await cache.set("b:ours", "0");
    const raw = Client.create(mc.address, { timeout: 0.2, logger: quiet }); // default retries: 2
    try {
      await raw.get("b:raw"); // connected before the pause
      await mc.pause();
      try {
        await assert.rejects(raw.increment("b:raw", 5), /timed out/);
        await rejectsWith(cache.incr("b:ours", 5), "timeout");
      } finally {
        mc.resume();
      }
      await waitFor(async () => (await cache.get("b:raw").catch(() => null)) === "10", {
        timeoutMs: 5000,
        what: "memjs applied the increment twice",
      });
      await new Promise((r) => setTimeout(r, 200)); // let memcached drain what it buffered
      const ours = await cache.get("b:ours");
      assert.ok(ours === "0" || ours === "5", `applied at most once, got ${ours}`);
      assert.equal(await cache.incr("b:ours", 1), Number(ours) + 1, "the client recovered");
    } finally {
      raw.close();
    }
  });

  test("(c) values >= 2^32: memjs misparses the increment result; ours is exact up to 2^53-1", async () => {
    const raw = Client.create(mc.address, { logger: quiet });
    try {
      await cache.set("c:raw", String(2 ** 32 - 1));
      const r = await raw.increment("c:raw", 1);
      assert.notEqual(r.value, 2 ** 32, "memjs got it right: the trap is gone, simplify memcached-cache.ts");
      assert.equal(await cache.get("c:raw"), String(2 ** 32), "the server itself computed it right");
    } finally {
      raw.close();
    }
    await cache.set("c:ours", String(2 ** 32 - 1));
    assert.equal(await cache.incr("c:ours", 1), 2 ** 32);
    assert.equal(await cache.incr("c:ours", 2 ** 40), 2 ** 32 + 2 ** 40, "amounts above 2^32 too (memjs sends 32 bits)");
    await cache.set("c:max", String(Number.MAX_SAFE_INTEGER - 1));
    assert.equal(await cache.incr("c:max", 1), Number.MAX_SAFE_INTEGER);
    await rejectsWith(cache.incr("c:max", 1), "bad_value");
  });

  test("(c) padded counters: memcached pads a shrunk counter with spaces; get trims them", async () => {
    await cache.set("c:pad", "000000000042");
    assert.equal(await cache.incr("c:pad", 1), 43);
    const raw = Client.create(mc.address, { logger: quiet });
    try {
      assert.equal((await raw.get("c:pad")).value?.toString(), "43          ", "memcached padded in place");
    } finally {
      raw.close();
    }
    assert.equal(await cache.get("c:pad"), "43");
    assert.deepEqual(await cache.getMany(["c:pad"]), new Map([["c:pad", "43"]]));
  });

  test("(d) console: memjs logs failures to console; ours routes them to onLog and prints nothing", async () => {
    const dead = await startMemcached();
    const deadAddress = dead.address;
    await dead.stop();

    const printedByMemjs = await captureConsole(async () => {
      const raw = Client.create(deadAddress, { retries: 1 });
      await assert.rejects(raw.get("d:k"));
      raw.close();
    });
    assert.ok(
      printedByMemjs.some((line) => line.includes("MemJS")),
      "bare memjs printed to the console",
    );

    const logged: string[] = [];
    const printed = await captureConsole(async () => {
      const ours = new MemcachedCache({ servers: deadAddress, timeoutMs: 200, onLog: (m) => logged.push(m) });
      await rejectsWith(ours.get("d:k"), "unreachable");
      await rejectsWith(ours.incr("d:k", 1), "unreachable");
      await ours.close();
      assert.equal(await cache.incr("d:missing", 1), null);
      assert.equal(await cache.get("d:missing"), null);
      assert.equal(await cache.add("d:added", "1"), true);
      assert.equal(await cache.add("d:added", "1"), false);
      await cache.set("d:text", "x");
      await rejectsWith(cache.incr("d:text", 1), "bad_value");
      await mc.pause();
      try {
        await rejectsWith(cache.get("d:k"), "timeout");
      } finally {
        mc.resume();
      }
    });
    assert.deepEqual(printed, []);
    assert.ok(logged.length >= 2 && logged.every((m) => m.includes(deadAddress)), `onLog got: ${logged.join(" | ")}`);
  });
});
