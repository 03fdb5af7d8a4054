import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../ops/logger.ts";
import type { OnAirTotal } from "../record/record.ts";
import { OnAirRecorder, WATCH_MS } from "./on-air-recorder.ts";

class Sink {
  rows: OnAirTotal[] = [];
  calls = 0;
  fail = false;
  async recordOnAir(rows: readonly OnAirTotal[]): Promise<void> {
    this.calls++;
    if (this.fail) throw new Error("record down");
    this.rows.push(...rows);
  }
}
const live = (totals: Record<string, number>) => ({ seq: 1, totals });
const settle = () => new Promise((r) => setImmediate(r));
const log = createLogger("silent", {});

test("on air: the value at the close, then every later frame that changes it, with the frame's instant; the watch ends after WATCH_MS", async () => {
  const sink = new Sink();
  const r = new OnAirRecorder(sink, "n1", log);
  r.closed("s", "e", "a1", 1_000, 10);
  await settle();
  r.published("s", "e", live({ a1: 10, a2: 5 }), 1_100); // unchanged: nothing
  await settle();
  r.published("s", "e", live({ a1: 12, a2: 6 }), 1_200); // raised (in-flight buzzes, reconciliation)
  await settle();
  r.published("s", "e", live({ a1: 13 }), 1_000 + WATCH_MS + 1); // past the watch
  await settle();
  assert.deepEqual(
    sink.rows.map((x) => [x.act, x.node, x.total, x.atMs, x.closedAtMs]),
    [
      ["a1", "n1", 10, 1_000, 1_000],
      ["a1", "n1", 12, 1_200, 1_000],
    ],
  );
});

test("on air: a new epoch ends the old epoch's watch; a failed write is retried with the newest value", async () => {
  const sink = new Sink();
  const r = new OnAirRecorder(sink, "n1", log);
  sink.fail = true;
  r.closed("s", "e1", "a1", 1_000, 3);
  await settle();
  assert.equal(sink.calls, 1);
  r.published("s", "e1", live({ a1: 4 }), 1_100); // within the retry pause: coalesced, not written
  await settle();
  assert.equal(sink.calls, 1);
  sink.fail = false;
  await r.flush();
  assert.deepEqual(
    sink.rows.map((x) => [x.epoch, x.total, x.atMs]),
    [["e1", 4, 1_100]],
  );
  r.published("s", "e2", live({ a1: 0 }), 1_200); // reset: the old epoch's last frame was recorded
  await settle();
  assert.equal(sink.rows.length, 1);
  assert.match(
    r
      .metrics()
      .map((f) => `${f.name} ${f.samples[0]?.value}`)
      .join("\n"),
    /buzzcast_on_air_write_errors_total 1/,
  );
});
