/**
 * Act windows on the show clock, with an injected clock and timers: the instant rules, the
 * registry's schedule (announce, apply at the instant, replace, cancel, late arrival), the
 * per-buzz check that does not wait for the timer. (The record's copy: record.contract.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BuzzIntake, type Buzzer } from "../counting/buzz-intake.ts";
import { UnlimitedPolicy } from "../counting/buzz-policy.ts";
import { RateLimiter } from "../counting/rate-limiter.ts";
import { Counting } from "../counting/show-counts.ts";
import { createLogger } from "../ops/logger.ts";
import { Metrics } from "../ops/metrics.ts";
import type { ShowRecord } from "../record/record.ts";
import { ShowRegistry, type ShowChange, type ShowClock } from "./show-registry.ts";
import { MemoryShowSource } from "./show-source.ts";
import { MAX_AHEAD_MS, minLeadMs, resolveInstant } from "./stage-schedule.ts";

const TICK = 100;
const T0 = 1_700_000_000_000; // a multiple of TICK

class FakeClock implements ShowClock {
  t = T0;
  private id = 0;
  readonly timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): number {
    this.timers.set(++this.id, { due: this.t + ms, fn });
    return this.id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Move to `to`, firing each timer due by then at its due time, in order. */
  advance(to: number): void {
    for (;;) {
      const next = [...this.timers.entries()].filter(([, x]) => x.due <= to).sort((a, b) => a[1].due - b[1].due)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].due);
      next[1].fn();
    }
    this.t = to;
  }
  /** Fire every timer now, whatever its due time (a timer that fires early). */
  fireAllNow(): void {
    const all = [...this.timers.values()];
    this.timers.clear();
    for (const x of all) x.fn();
  }
}

async function setup() {
  const clock = new FakeClock();
  const warnings: string[] = [];
  const log = createLogger("warn", {}, (line) => warnings.push(line));
  const shows = new ShowRegistry(new MemoryShowSource(), { tickMs: TICK, clock, log });
  const events: Array<{ changes: ShowChange[]; stage: string; was: string; next: number | null }> = [];
  shows.onChange((show, changes, previous) =>
    events.push({
      changes: [...changes].sort(),
      stage: `${String(show.stage.act)}:${String(show.stage.open)}`,
      was: `${String(previous.stage.act)}:${String(previous.stage.open)}`,
      next: show.next?.at ?? null,
    }),
  );
  const acts = [
    { id: "a", name: "A" },
    { id: "b", name: "B" },
  ];
  await shows.put("s", { title: "S", acts });
  await shows.setStage("s", { act: "a", open: true });
  clock.advance(T0 + 10);
  events.length = 0;
  return { clock, shows, events, warnings, acts };
}

test("resolveInstant rounds up to the aligned tick and refuses past, too-soon and too-far instants", () => {
  const now = T0 + 7;
  assert.deepEqual(resolveInstant(T0 + 1000, now, TICK), { at: T0 + 1000 }, "a multiple is kept");
  assert.deepEqual(resolveInstant(T0 + 1001, now, TICK), { at: T0 + 1100 }, "never earlier than asked");
  assert.deepEqual(resolveInstant(T0 + 950, now, 50), { at: T0 + 950 });
  assert.ok("error" in resolveInstant(now, now, TICK), "now is not the future");
  assert.ok("error" in resolveInstant(now - 5000, now, TICK), "the past");
  assert.ok("error" in resolveInstant(now + minLeadMs(TICK) - 100, now, TICK), "sooner than the lead");
  assert.ok("error" in resolveInstant(now + MAX_AHEAD_MS + TICK, now, TICK), "beyond 24 h");
  assert.equal(minLeadMs(1000), 3000, "three ticks when ticks are long");
});

test("a scheduled close is announced at once, judged per buzz by its instant, applied by the timer at the instant", async () => {
  const { clock, shows, events } = await setup();
  const at = T0 + 1050; // rounded up to T0 + 1100
  const show = await shows.setStage("s", { act: "a", open: false }, at);
  assert.deepEqual(show.next, { act: "a", open: false, at: T0 + 1100 });
  assert.deepEqual(show.stage, { act: "a", open: true }, "still open until the instant");
  assert.deepEqual(events, [{ changes: ["schedule"], stage: "a:true", was: "a:true", next: T0 + 1100 }], "announced, no stage change yet");
  assert.equal(show.dueAt, T0 + 1100);

  // The timer has not fired: the buzz's receipt time decides.
  assert.equal(show.votingOpen("a", T0 + 1099), true, "a buzz received before the instant counts");
  assert.equal(show.votingOpen("a", T0 + 1100), false, "a buzz received at the instant does not, timer or not");
  assert.equal(show.votingOpen("a", 0), true, "no clock read (0): judged by the applied stage");

  const version = show.version;
  clock.advance(T0 + 1099);
  assert.deepEqual(show.stage, { act: "a", open: true });
  assert.equal(events.length, 1, "nothing before the instant");
  clock.advance(T0 + 1100);
  assert.deepEqual(show.stage, { act: "a", open: false }, "applied at the instant");
  assert.equal(show.next, null);
  assert.equal(show.dueAt, Infinity);
  assert.deepEqual(events[1], { changes: ["schedule", "stage"], stage: "a:false", was: "a:true", next: null });
  assert.equal(clock.timers.size, 0, "no timer left");
  assert.equal(show.version, version, "applying a scheduled change makes no new version (every node applies the same one)");
});

test("a timer that fires early re-arms and changes nothing", async () => {
  const { clock, shows, events } = await setup();
  const show = await shows.setStage("s", { act: "b", open: true }, T0 + 2000);
  clock.t = T0 + 1999;
  clock.fireAllNow();
  assert.deepEqual(show.stage, { act: "a", open: true });
  assert.equal(clock.timers.size, 1, "re-armed");
  assert.equal(events.length, 1);
  clock.advance(T0 + 2000);
  assert.deepEqual(show.stage, { act: "b", open: true }, "a scheduled open");
  assert.equal(show.votingOpen("b", T0 + 2000), true);
});

test("an immediate change cancels the scheduled one; a new instant replaces it", async () => {
  const { clock, shows, events } = await setup();
  await shows.setStage("s", { act: "a", open: false }, T0 + 1000);
  let show = await shows.setStage("s", { act: "a", open: false }, T0 + 3000);
  assert.equal(show.next?.at, T0 + 3000, "replaced");
  assert.equal(clock.timers.size, 1, "one timer per show");
  clock.advance(T0 + 2000);
  assert.deepEqual(show.stage, { act: "a", open: true }, "the replaced instant did not fire");
  show = await shows.setStage("s", { act: "a", open: true });
  assert.equal(show.next, null, "an immediate change cancels");
  assert.equal(clock.timers.size, 0);
  clock.advance(T0 + 5000);
  assert.deepEqual(show.stage, { act: "a", open: true });
  assert.equal(show.votingOpen("a", T0 + 5000), true);
  assert.deepEqual(
    events.map((e) => e.changes.join("+")),
    ["schedule", "schedule", "schedule"],
  );
});

test("edits keep the schedule unless its act left the show; a reset keeps it", async () => {
  const { shows, acts } = await setup();
  await shows.setStage("s", { act: "b", open: true }, T0 + 1000);
  let show = await shows.put("s", { title: "Renamed", acts });
  assert.equal(show.next?.at, T0 + 1000);
  show = await shows.reset("s");
  assert.equal(show.next?.at, T0 + 1000, "a reset keeps the schedule");
  show = await shows.put("s", { title: "Renamed", acts: [{ id: "a", name: "A" }] });
  assert.equal(show.next, null, "its act left the show");
});

test("a change heard after its instant is applied on arrival, and logged", async () => {
  const { clock, shows, events, warnings } = await setup();
  const cur = shows.get("s");
  assert.ok(cur);
  const rec: ShowRecord = {
    show: cur.info,
    stage: { act: "a", open: true },
    epoch: cur.epoch,
    version: cur.version + 1,
    next: { act: "a", open: false, at: T0 - 100 },
  };
  shows.applyRemote(rec);
  assert.deepEqual(cur.stage, { act: "a", open: false });
  assert.equal(cur.next, null);
  assert.equal(clock.timers.size, 0);
  assert.deepEqual(events[0]?.changes, ["stage"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /after its instant/);
  // A later node starting from the same record sees the applied stage.
  const late = new ShowRegistry(new MemoryShowSource(), { tickMs: TICK, clock });
  assert.deepEqual(late.applyRemote(rec)?.stage, { act: "a", open: false });
});

test("refused instants throw bad_request and change nothing", async () => {
  const { shows } = await setup();
  await assert.rejects(shows.setStage("s", { act: "a", open: false }, T0 - 1), { name: "ShowError", code: "bad_request" });
  await assert.rejects(shows.setStage("s", { act: "a", open: false }, T0 + 100), { code: "bad_request" });
  await assert.rejects(shows.setStage("s", { act: "zz", open: false }, T0 + 1000), { code: "unknown_act" });
  assert.equal(shows.get("s")?.next, null);
});

test("the intake judges a buzz by its receipt time against the schedule, reading the clock only then", async () => {
  const { shows } = await setup();
  const counting = new Counting(shows, new UnlimitedPolicy());
  const limiter = new RateLimiter(0, 1, 1); // off: the caller passes 0, no clock read
  const intake = new BuzzIntake(new UnlimitedPolicy(), limiter, new Metrics());
  const show = shows.get("s");
  assert.ok(show);
  const counts = counting.of(show);
  const b: Buzzer = { viewerKey: "v", lastSeq: 0, counted: 0, rejected: {}, last: "counted", undecided: 0, bucket: limiter.fresh(0) };
  const slot = counts.table.get("a");
  assert.equal(intake.buzz(b, counts, slot, 1, 0), "counted", "nothing scheduled: counted, no clock read");
  // The fake clock's instant (T0 + 1000) is long past on the real clock the intake reads.
  await shows.setStage("s", { act: "a", open: false }, T0 + 1000);
  assert.deepEqual(show.stage, { act: "a", open: true }, "the timer has not fired");
  assert.equal(intake.buzz(b, counts, slot, 2, T0 + 999), "counted", "received before the instant");
  assert.equal(intake.buzz(b, counts, slot, 3, T0 + 1000), "voting_closed", "received at the instant");
  assert.equal(intake.buzz(b, counts, slot, 4, 0), "voting_closed", "clock read by the intake: past the instant");
  assert.deepEqual([b.counted, b.rejected], [2, { voting_closed: 2 }]);
});
