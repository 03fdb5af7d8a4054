/**
 * Reader flow control end to end (server/transport/reader-flow.ts): a real `ws` client of either
 * protocol stops reading (its socket paused: it answers no ping), is parked once it leaves more than
 * READER_UNACKED_BYTES unread, reads again, answers the probe, and is resumed with a fresh welcome
 * (latest totals), the totals frames going on after it; its buzzes meanwhile are all counted and
 * acknowledged. A reader that never reads again is closed with 4009 after READER_PARKED_CLOSE_MS.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE } from "../shared/codes.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { metricValue, waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({
    TICK_MS: "100",
    BUZZ_POLICY: "unlimited",
    RATE_LIMIT_PER_SEC: "0",
    // Small, so that v2's small frames also exceed it within a few seconds.
    READER_UNACKED_BYTES: "512",
    READER_PARKED_CLOSE_MS: "4000",
  });
  const acts = Array.from({ length: 20 }, (_, i) => ({ id: `act-${i}`, name: `Act ${i}` }));
  await admin(srv, "PUT", "/api/shows/flow", { title: "Flow", acts });
  await admin(srv, "POST", "/api/shows/flow/stage", { act: "act-0", open: true });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const welcomes = (v: TestViewer): number => v.frames.filter((f) => f.type === "welcome").length;

for (const protocol of [1, 2] as const) {
  test(`v${protocol}: a reader that stops is parked, and resumed with a fresh welcome when it reads again; its buzzes all count`, async () => {
    const reader = await TestViewer.join(srv.wsUrl, "flow", undefined, { protocol });
    const buzzer = await TestViewer.join(srv.wsUrl, "flow");
    const buzz = setInterval(() => buzzer.buzz("act-0"), 25); // a total changes every tick
    try {
      await reader.until(() => reader.totalsFrames().length >= 3, "totals flowing");
      const parked0 = await metricValue(srv, "buzzcast_readers_parked_total");
      const resumed0 = await metricValue(srv, "buzzcast_readers_resumed_total");
      reader.ws.pause();
      for (let i = 0; i < 5; i++) reader.buzz("act-0"); // sent while it reads nothing
      await waitFor(async () => (await metricValue(srv, "buzzcast_readers_parked_total")) > parked0, {
        what: "the paused reader parked",
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      const before = reader.frames.length;
      reader.ws.resume();
      await reader.until(() => welcomes(reader) === 2, "a second welcome after reading again", 10_000);
      assert.equal(await metricValue(srv, "buzzcast_readers_resumed_total"), resumed0 + 1);
      const w = reader.frames.map((f) => f.type).lastIndexOf("welcome");
      assert.ok(w >= before);
      const welcome = reader.frames[w]!;
      assert.equal(welcome.type, "welcome");
      await reader.until(
        () => reader.frames.slice(w).some((f) => f.type === "totals" && welcome.type === "welcome" && f.seq > welcome.seq),
        "totals after the fresh welcome",
      );
      // Latest totals win: the welcome is at least as new as anything the reader saw before it,
      // and it is the state the viewers that kept reading were sent at its seq (current, not stale).
      const seen = reader.frames.slice(0, w).filter((f) => f.type === "totals");
      const lastSeen = seen.at(-1);
      if (lastSeen?.type === "totals" && welcome.type === "welcome") assert.ok(welcome.seq >= lastSeen.seq);
      assert.ok(welcome.type === "welcome");
      const atSeq = () => buzzer.frames.find((f) => f.type === "totals" && f.seq === welcome.seq);
      await buzzer.until(() => atSeq() !== undefined, `the buzzer's totals frame numbered ${welcome.seq}`);
      const sameTick = atSeq();
      assert.ok(sameTick?.type === "totals");
      assert.deepEqual(welcome.totals, sameTick.totals);
      await reader.until(() => reader.lastAck?.seq === 5, "the ack of the 5 buzzes sent while paused");
      assert.equal(reader.lastAck?.counted, 5);
      assert.equal(reader.closeCode, null);
    } finally {
      clearInterval(buzz);
      reader.close();
      buzzer.close();
    }
  });
}

test("a reader parked longer than READER_PARKED_CLOSE_MS is closed with 4009 slow_consumer", async () => {
  const reader = await TestViewer.join(srv.wsUrl, "flow");
  const buzzer = await TestViewer.join(srv.wsUrl, "flow");
  const buzz = setInterval(() => buzzer.buzz("act-0"), 25);
  try {
    const closes = async (): Promise<number> => {
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      return Number(/^buzzcast_closes_total\{code="slow_consumer"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const closed0 = await closes();
    const parkedClosed0 = await metricValue(srv, "buzzcast_readers_parked_closed_total");
    reader.ws.pause();
    await waitFor(async () => (await closes()) > closed0, { what: "the slow_consumer close", timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(await metricValue(srv, "buzzcast_readers_parked_closed_total"), parkedClosed0 + 1);
    reader.ws.resume();
    assert.equal(await reader.closed, CLOSE.slow_consumer.code);
    assert.equal(buzzer.closeCode, null);
  } finally {
    clearInterval(buzz);
    buzzer.close();
  }
});
