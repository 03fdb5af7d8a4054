import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { FLOOD_MESSAGES, Ticker, nextTickAfter } from "./ticker.ts";

/** A Ticker over a driven clock and mocked timers; records every phase as "f<k>" / "p<k>" with its lag. */
function setup(startMs: number, tickMs = 100, offsetMs = 20) {
  mock.timers.enable({ apis: ["setTimeout"] });
  let now = startMs;
  const log: string[] = [];
  const ticker = new Ticker(
    tickMs,
    offsetMs,
    {
      flush: (k, lag, fromMsg) => log.push(`f${k}@${lag}${fromMsg ? "m" : ""}`),
      publish: (k, lag, fromMsg) => log.push(`p${k}@${lag}${fromMsg ? "m" : ""}`),
    },
    () => now,
  );
  /** Move the clock and the timers together by `ms`, a millisecond at a time. */
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now++;
      mock.timers.tick(1);
    }
  };
  const jump = (ms: number) => (now += ms); // the clock moves, no timer runs (a starved event loop)
  return { ticker, log, advance, jump };
}

test("phases fire at aligned instants: flush at k x tickMs, publish offsetMs later, whatever the start time", (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, log, advance } = setup(1_000_050);
  ticker.start();
  advance(49);
  assert.deepEqual(log, [], "nothing before the first aligned instant");
  advance(1);
  assert.deepEqual(log, ["f10001@0"]);
  advance(19);
  assert.deepEqual(log, ["f10001@0"]);
  advance(1);
  assert.deepEqual(log, ["f10001@0", "p10001@0"]);
  advance(200);
  assert.deepEqual(log.slice(2), ["f10002@0", "p10002@0", "f10003@0", "p10003@0"]);
  ticker.stop();
  advance(1000);
  assert.equal(log.length, 6, "stopped: nothing more");
});

test("a stall is not replayed: one catch-up flush at the latest instant passed, then its publish", (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, log, advance, jump } = setup(0);
  ticker.start();
  advance(120); // f1, p1
  jump(435); // the loop was blocked from 120 to 555; its timer (due at 200) runs 80 ms later, at 635
  advance(80);
  assert.deepEqual(log, ["f1@0", "p1@0", "f6@35", "p6@15"]);
  advance(65);
  assert.deepEqual(log.slice(4), ["f7@0"]);
  ticker.stop();
});

test("a flooded loop: the message path runs due phases (every 32nd poke reads the clock)", (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, log, jump } = setup(0);
  ticker.start();
  for (let i = 0; i < FLOOD_MESSAGES; i++) ticker.poke(); // the flood starts: the loop's timers starve
  jump(105);
  for (let i = 0; i < 31; i++) ticker.poke();
  assert.deepEqual(log, [], "31 pokes: no clock read yet");
  ticker.poke();
  assert.deepEqual(log, ["f1@5m"]);
  jump(20);
  for (let i = 0; i < 32; i++) ticker.poke();
  assert.deepEqual(log, ["f1@5m", "p1@5m"]);
  ticker.stop();
});

test("a phase merely late behind a long fan-out is left to the timer: the message path runs phases only in a flood", (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, log, advance, jump } = setup(0);
  ticker.start();
  advance(120); // the timer ran f1 at 100 and p1 at 120
  assert.deepEqual(log, ["f1@0", "p1@0"]);
  jump(130); // uWS's 130 ms fan-out of p1 after the timer's callback: f2 (due at 200) is 50 ms late
  for (let i = 0; i < 64; i++) ticker.poke(); // the few messages that came meanwhile
  assert.deepEqual(log, ["f1@0", "p1@0"], "not a flood: the message path leaves f2 to the timer");
  for (let i = 0; i < FLOOD_MESSAGES; i++) ticker.poke(); // now a flood: the iteration goes on
  assert.deepEqual(log.slice(2), ["f2@50m", "p2@30m"]);
  ticker.stop();
});

test("the offset must fit in the period", () => {
  const phases = { flush: () => {}, publish: () => {} };
  assert.throws(() => new Ticker(100, 100, phases), RangeError);
  assert.throws(() => new Ticker(100, -1, phases), RangeError);
  assert.equal(nextTickAfter(1_000, 100), 11);
  assert.equal(nextTickAfter(1_099, 100), 11);
});
