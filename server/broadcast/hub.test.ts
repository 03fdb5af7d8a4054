import { test } from "node:test";
import assert from "node:assert/strict";
import type { WebSocket } from "uWebSockets.js";
import type { ServerMessage, TotalsFrame, Welcome } from "../../shared/protocol.ts";
import { silentLogger } from "../ops/logger.ts";
import { Metrics } from "../ops/metrics.ts";
import { Show, type ShowHandle } from "../shows/show.ts";
import type { ShowRecord } from "../record/record.ts";
import { Hub } from "./hub.ts";

/** A tick stamp at full rate with no audience (the base period is the hub's tickMs). */
const at = (ts: number, publishPeriodMs = 100, watching = 0) => ({ ts, publishPeriodMs, watching });

const rec = (acts: string[], version: number, epoch = "e1"): ShowRecord => ({
  show: { id: "s", title: "S", acts: acts.map((id) => ({ id, name: id.toUpperCase() })) },
  stage: { act: null, open: false },
  epoch,
  version,
});

function setup(tickMs = 100) {
  const published: Array<{ topic: string; frame: ServerMessage }> = [];
  const hub = new Hub(
    {
      publish: (topic, frame) => {
        if (typeof frame === "string") published.push({ topic, frame: JSON.parse(frame) as ServerMessage });
      },
      subscribers: () => 0,
    },
    new Metrics(),
    { tickMs, heartbeatMs: 1000, policy: "once" },
    silentLogger,
  );
  const h: ShowHandle = Show.create(rec(["a", "b"], 1));
  hub.showChanged(h.show, new Set(["show", "stage", "epoch"]));
  const totals = () => published.filter((p): p is { topic: string; frame: TotalsFrame } => p.frame.type === "totals").map((p) => p.frame);
  return { hub, h, published, totals };
}

test("heartbeat: with ticks 100-149 ms apart, no gap between totals frames reaches 1,000 ms", () => {
  const { hub, h, totals } = setup(100);
  let now = 1_000_000;
  for (let i = 0; i < 400; i++) {
    now += 100 + ((i * 37) % 50);
    hub.totals(h.show, undefined, at(now));
  }
  const ts = totals().map((f) => f.ts);
  assert.ok(ts.length > 10);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
  assert.ok(Math.max(...gaps) < 1000, `largest gap ${Math.max(...gaps)} ms`);
  assert.ok(Math.min(...gaps) >= 700, `heartbeats stay about a second apart (smallest gap ${Math.min(...gaps)} ms)`);
});

test("totals never decrease in an epoch; removed acts leave the frame and come back where they were; a reset restarts at zero", () => {
  const { hub, h, totals } = setup();
  let now = 0;
  const tick = (fresh?: Record<string, number>) => hub.totals(h.show, fresh && new Map(Object.entries(fresh)), at((now += 100)));
  tick({ a: 5, b: 2 });
  assert.deepEqual(totals().at(-1)?.totals, { a: 5, b: 2 });
  tick({ a: 3, b: 2 }); // a lower store value (another node's stale view) never lowers what was shown
  const n = totals().length;
  tick({ a: 5, b: 2 });
  assert.equal(totals().length, n, "no change, no frame (before the heartbeat)");
  assert.deepEqual(totals().at(-1)?.totals, { a: 5, b: 2 });

  const edit = h.apply(rec(["a"], 2));
  assert.ok(edit);
  hub.showChanged(h.show, edit.changes);
  tick({ a: 5 });
  assert.deepEqual(totals().at(-1)?.totals, { a: 5 }, "the next tick publishes without the removed act");
  assert.deepEqual(hub.snapshot(h.show).totals, { a: 5 });
  const back = h.apply(rec(["a", "b"], 3));
  assert.ok(back);
  hub.showChanged(h.show, back.changes);
  tick();
  assert.deepEqual(totals().at(-1)?.totals, { a: 5, b: 2 }, "an act added back in the same epoch resumes its total");

  const seqBefore = totals().at(-1)!.seq;
  const reset = h.apply(rec(["a", "b"], 4, "e2"));
  assert.ok(reset);
  hub.showChanged(h.show, reset.changes);
  tick({ a: 0, b: 0 });
  const last = totals().at(-1)!;
  assert.deepEqual(
    [last.epoch, last.totals, last.seq],
    ["e2", { a: 0, b: 0 }, seqBefore + 1],
    "the new epoch is published at the next tick; seq keeps growing",
  );
});

test("join subscribes, then sends one corked welcome; the welcome is cached until something changes", () => {
  const { hub, h } = setup();
  const log: string[] = [];
  let corked = false;
  const ws = {
    subscribe: (topic: string) => (log.push(`subscribe ${topic}`), true),
    cork: (fn: () => void) => {
      corked = true;
      fn();
      corked = false;
      return ws;
    },
    send: (frame: string) => (log.push(`${corked ? "corked" : "UNCORKED"} ${frame}`), 1),
    end: (code: number) => log.push(`${corked ? "corked" : "UNCORKED"} end ${code}`),
  } as unknown as WebSocket<unknown>;
  hub.join(ws, h.show, 1);
  hub.join(ws, h.show, 1);
  assert.equal(log[0], "subscribe show/s");
  assert.ok(log[1]?.startsWith("corked "));
  assert.equal(log[3], log[1], "the same serialized welcome");
  const w = JSON.parse(log[1]!.slice("corked ".length)) as Welcome;
  assert.deepEqual([w.type, w.seq, w.totals, w.tickMs, w.policy], ["welcome", 0, { a: 0, b: 0 }, 100, "once"]);
  hub.totals(h.show, new Map([["a", 1]]), at(100, 100, 7));
  hub.join(ws, h.show, 1);
  const w2 = JSON.parse(log[5]!.slice("corked ".length)) as Welcome;
  assert.deepEqual([w2.seq, w2.watching], [1, 7], "a new totals frame invalidates the welcome, which carries the audience");
  hub.ack(ws, { lastSeq: 3, counted: 1, rejected: { duplicate: 2 }, last: "duplicate" }, 1);
  assert.equal(log[6], 'corked {"type":"ack","seq":3,"counted":1,"rejected":{"duplicate":2},"last":"duplicate"}');
  hub.close(ws, "bad_frame", "nope", 1);
  assert.deepEqual(log.slice(7), ['corked {"type":"error","code":"bad_frame","message":"nope"}', "corked end 4000"]);
});

test("totals frames carry the aligned tick instant, the effective period and the audience; an audience change alone publishes", () => {
  const { hub, h, totals } = setup(100);
  hub.totals(h.show, new Map([["a", 1]]), at(1_000_000, 100, 3));
  hub.totals(h.show, new Map([["a", 1]]), at(1_000_100, 100, 3));
  hub.totals(h.show, new Map([["a", 1]]), at(1_000_200, 200, 4));
  assert.deepEqual(
    totals().map((f) => [f.ts, f.tickMs, f.watching, f.totals.a]),
    [
      [1_000_000, 100, 3, 1],
      [1_000_200, 200, 4, 1],
    ],
  );
  assert.equal(hub.snapshot(h.show).watching, 4);
});

test("heartbeat at a degraded period: frames 800 ms apart still leave no 1,000 ms gap", () => {
  const { hub, h, totals } = setup(100);
  for (let i = 0; i < 20; i++) hub.totals(h.show, undefined, at(1_000_000 + i * 800, 800));
  const ts = totals().map((f) => f.ts);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
  assert.equal(ts.length, 20, "every degraded tick publishes");
  assert.ok(Math.max(...gaps) < 1000);
});

test("local audience: the show's subscribers on both protocols", () => {
  const counts: Record<string, number> = { "show/s": 5, "show/s/v2": 2 };
  const hub = new Hub(
    { publish: () => {}, subscribers: (topic) => counts[topic] ?? 0 },
    new Metrics(),
    { tickMs: 100, heartbeatMs: 1000, policy: "once" },
    silentLogger,
  );
  const h: ShowHandle = Show.create(rec(["a"], 1));
  assert.equal(hub.localWatching(h.show), 0, "a show the hub never announced has no viewers here");
  hub.showChanged(h.show, new Set(["show", "stage", "epoch"]));
  assert.equal(hub.localWatching(h.show), 7);
});
