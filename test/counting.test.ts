/**
 * End to end on a real server process and real `ws` clients: counting, the `once` policy, acks.
 * Every test runs over protocol v1 (JSON) and v2 (binary): the guarantees are the same.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer, type Protocol } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({ TICK_MS: "50" });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

for (const protocol of [1, 2] as const satisfies Protocol[]) {
  const p = { protocol };
  const suffix = ` (v${protocol})`;

  test("300 viewers buzz once each and every one of them sees the exact total within two ticks" + suffix, async () => {
    const crowd = `crowd-v${protocol}`;
    await admin(srv, "PUT", `/api/shows/${crowd}`, {
      title: "Crowd",
      acts: [
        { id: "a", name: "A" },
        { id: "b", name: "B" },
      ],
    });
    await admin(srv, "POST", `/api/shows/${crowd}/stage`, { act: "a", open: true });
    const viewers = await Promise.all(Array.from({ length: 300 }, (_, i) => TestViewer.join(srv.wsUrl, crowd, `viewer-${i}`, p)));
    for (const v of viewers) v.buzz("a");
    await Promise.all(viewers.map((v) => v.until(() => v.totals.a === 300, "total 300", 10_000)));
    // Everyone got a cumulative ack saying their one buzz counted.
    await Promise.all(viewers.map((v) => v.until(() => v.lastAck?.seq === 1, "ack")));
    for (const v of viewers) assert.deepEqual(v.lastAck, { type: "ack", seq: 1, counted: 1, rejected: {}, last: "counted" });
    const state = (await (await fetch(`${srv.url}/api/shows/${crowd}`)).json()) as { totals: Record<string, number> };
    assert.deepEqual(state.totals, { a: 300, b: 0 });
    // Within two ticks: all 300 buzzes were sent within a few ms (inside one tick boundary), so every
    // viewer sees the full 300 at most two totals frames (= ticks) after the first frame showing any.
    for (const v of viewers.slice(0, 20)) {
      const frames = v.totalsFrames();
      const firstChange = frames.findIndex((f) => (f.totals.a ?? 0) > 0);
      const full = frames.findIndex((f) => f.totals.a === 300);
      assert.ok(full - firstChange <= 2, `reached 300 ${full - firstChange} frames after the first buzz showed`);
    }
    for (const v of viewers) v.close();
  });

  test("once policy: repeats and other acts are acknowledged with their reasons, never counted" + suffix, async () => {
    const once = `once-v${protocol}`;
    await admin(srv, "PUT", `/api/shows/${once}`, {
      title: "Once",
      acts: [
        { id: "a", name: "A" },
        { id: "b", name: "B" },
      ],
    });
    await admin(srv, "POST", `/api/shows/${once}/stage`, { act: "a", open: true });
    const v = await TestViewer.join(srv.wsUrl, once, "same-viewer", p);
    v.buzz("a");
    v.buzz("a");
    v.buzz("b"); // not on stage
    v.send({ type: "buzz", act: "nope", seq: 4 }); // v2: an act index past the table
    v.send({ type: "buzz", act: "a", seq: 2 }); // seq went backwards
    await v.until(() => v.lastAck?.seq === 4 && (v.lastAck.rejected.out_of_order ?? 0) === 1, "ack of all five");
    // `last` is the outcome of buzz `seq` (4: unknown_act); the replayed seq 2 is only counted.
    assert.deepEqual(v.lastAck, {
      type: "ack",
      seq: 4,
      counted: 1,
      last: "unknown_act",
      rejected: { duplicate: 1, voting_closed: 1, unknown_act: 1, out_of_order: 1 },
    });
    // Same viewer id on a new connection: still a duplicate (dedupe is by viewer, not connection).
    const again = await TestViewer.join(srv.wsUrl, once, "same-viewer", p);
    again.buzz("a");
    await again.until(() => again.lastAck !== null, "ack");
    assert.equal(again.lastAck?.last, "duplicate");
    await v.until(() => v.totals.a === 1, "total 1");
    const state = (await (await fetch(`${srv.url}/api/shows/${once}`)).json()) as { totals: Record<string, number> };
    assert.deepEqual(state.totals, { a: 1, b: 0 });
    v.close();
    again.close();
  });

  test("totals frames keep coming as a heartbeat when nothing changes, with increasing seq" + suffix, async () => {
    const v = await TestViewer.join(srv.wsUrl, "demo", undefined, p);
    await v.until(() => v.totalsFrames().length >= 2, "two heartbeats", 5000);
    const [a, b] = v.totalsFrames();
    assert.ok(a && b && b.seq > a.seq && b.seq > (v.welcome?.seq ?? 0));
    assert.equal(a?.epoch, v.welcome?.epoch);
    v.close();
  });

  test("an idle show gets a totals frame in every 1,000 ms window (server timestamps)" + suffix, async () => {
    const idle = `idle-v${protocol}`;
    await admin(srv, "PUT", `/api/shows/${idle}`, { title: "Idle", acts: [{ id: "a", name: "A" }] });
    const v = await TestViewer.join(srv.wsUrl, idle, undefined, p);
    await v.until(() => v.totalsFrames().length >= 5, "five heartbeats", 10_000);
    const ts = v.totalsFrames().map((f) => f.ts);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    assert.ok(
      gaps.every((g) => g < 1000),
      `gaps between totals frames: ${gaps.join(", ")} ms`,
    );
    v.close();
  });
}
