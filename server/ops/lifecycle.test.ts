/** The process lifecycle with an injected process and timer: signals, drain, exit codes, hard exit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT_FAILED, EXIT_OK, HARD_EXIT_GRACE_MS, installLifecycle, runLifecycle, type ProcessLike } from "./lifecycle.ts";
import { silentLogger } from "./logger.ts";

function fakes() {
  const handlers = new Map<string, () => void>();
  const exits: number[] = [];
  const proc: ProcessLike = { on: (ev, fn) => handlers.set(ev, fn), exit: (code) => void exits.push(code) };
  const timers: Array<{ fn: () => void; ms: number; unrefed: boolean }> = [];
  const setTimer = (fn: () => void, ms: number) => {
    const t = { fn, ms, unrefed: false };
    timers.push(t);
    return { unref: () => (t.unrefed = true) };
  };
  return { handlers, exits, proc, timers, setTimer };
}

/** A drain the test settles by hand. */
function manualDrain() {
  let settle!: { resolve(code: number): void; reject(err: Error): void };
  let calls = 0;
  const drain = () => {
    calls++;
    return new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { drain, settle: () => settle, calls: () => calls };
}

const flush = () => new Promise((r) => setImmediate(r));

test("SIGTERM drains once, arms an unref'd hard-exit timer, exits with the drain's code", async () => {
  const f = fakes();
  const d = manualDrain();
  runLifecycle({ drainTimeoutMs: 5000, drain: d.drain, log: silentLogger, proc: f.proc, setTimer: f.setTimer });
  assert.deepEqual([...f.handlers.keys()].sort(), ["SIGINT", "SIGTERM"]);
  f.handlers.get("SIGTERM")!();
  f.handlers.get("SIGINT")!(); // a second signal while draining changes nothing
  assert.equal(d.calls(), 1);
  assert.equal(f.timers.length, 1);
  assert.equal(f.timers[0]!.ms, 5000);
  assert.equal(f.timers[0]!.unrefed, true, "the timer alone never keeps the process up");
  assert.deepEqual(f.exits, []);
  d.settle().resolve(EXIT_OK);
  await flush();
  assert.deepEqual(f.exits, [EXIT_OK]);
});

test("a drain that rejects exits 1; a drain that resolves 1 exits 1", async () => {
  for (const end of ["reject", "fail"] as const) {
    const f = fakes();
    const d = manualDrain();
    runLifecycle({ drainTimeoutMs: 5000, drain: d.drain, log: silentLogger, proc: f.proc, setTimer: f.setTimer });
    f.handlers.get("SIGINT")!();
    if (end === "reject") d.settle().reject(new Error("store close failed"));
    else d.settle().resolve(EXIT_FAILED);
    await flush();
    assert.deepEqual(f.exits, [EXIT_FAILED], end);
  }
});

test("a drain that outlives DRAIN_TIMEOUT_MS: the hard-exit timer exits 1, a late drain exits nothing more", async () => {
  const f = fakes();
  const d = manualDrain();
  const life = runLifecycle({ drainTimeoutMs: 250, drain: d.drain, log: silentLogger, proc: f.proc, setTimer: f.setTimer });
  life.stop("test");
  f.timers[0]!.fn(); // the clock reaches the timeout
  assert.deepEqual(f.exits, [EXIT_FAILED]);
  d.settle().resolve(EXIT_OK);
  await flush();
  assert.deepEqual(f.exits, [EXIT_FAILED]);
});

test("a signal during start-up is held, not acted on, and drains the moment the process is ready", async () => {
  const f = fakes();
  const d = manualDrain();
  const life = installLifecycle({ proc: f.proc, setTimer: f.setTimer });
  assert.deepEqual([...f.handlers.keys()].sort(), ["SIGINT", "SIGTERM"], "handlers before anything else");
  f.handlers.get("SIGTERM")!();
  f.handlers.get("SIGINT")!();
  assert.equal(d.calls(), 0, "nothing to drain yet");
  assert.deepEqual(f.exits, []);
  life.ready({ drainTimeoutMs: 5000, drain: d.drain, log: silentLogger });
  assert.equal(d.calls(), 1, "the held signal drains at once");
  d.settle().resolve(EXIT_OK);
  await flush();
  assert.deepEqual(f.exits, [EXIT_OK]);
});

test("a timed-out drain runs beforeHardExit (bounded by a grace timer) before exiting 1", async () => {
  const f = fakes();
  const d = manualDrain();
  let stopped = 0;
  let release!: () => void;
  const life = runLifecycle({
    drainTimeoutMs: 250,
    drain: d.drain,
    log: silentLogger,
    proc: f.proc,
    setTimer: f.setTimer,
    beforeHardExit: () => {
      stopped++;
      return new Promise<void>((r) => (release = r));
    },
  });
  life.stop("test");
  f.timers[0]!.fn();
  assert.equal(stopped, 1);
  assert.deepEqual(f.exits, [], "waits for the threads to drop their sockets");
  release();
  await flush();
  assert.deepEqual(f.exits, [EXIT_FAILED]);
  assert.equal(f.timers[1]?.ms, HARD_EXIT_GRACE_MS, "a grace timer bounds the wait");
});
