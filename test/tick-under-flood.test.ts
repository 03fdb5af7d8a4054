/**
 * The tick keeps its rate while one client floods buzzes in large batches (many frames per write):
 * a watcher still receives totals frames at close to the configured rate, and every flooded buzz
 * is counted exactly. (A plain setInterval tick measured 0-0.2 Hz under such a flood here.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { encodeText } from "../bench/generator/ws-frame.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({ TICK_MS: "100", BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

test("a watcher gets totals at >= 50% of the tick rate during a 3 s flood, and the count is exact", async (t) => {
  const watcher = await TestViewer.join(srv.wsUrl, "demo");
  const flooder = await TestViewer.join(srv.wsUrl, "demo");
  const before = watcher.totals["act-1"] ?? 0;
  const fromMessagePath = async (): Promise<number> => {
    const m = /^buzzcast_ticks_from_message_path_total (\d+)/m.exec(await (await fetch(`${srv.url}/metrics`)).text());
    assert.ok(m, "the metric buzzcast_ticks_from_message_path_total exists");
    return Number(m[1]);
  };
  const msgTicksBefore = await fromMessagePath();
  // Take the raw TCP socket from `ws` after the handshake and write pre-masked frames in batches.
  const sock = (flooder.ws as unknown as { _socket: Socket })._socket;
  const BATCH = 2000;
  const FLOOD_MS = 3000;
  let seq = 0;
  const start = Date.now();
  while (Date.now() - start < FLOOD_MS) {
    const parts: Buffer[] = [];
    for (let i = 0; i < BATCH; i++) parts.push(encodeText(`{"type":"buzz","act":"act-1","seq":${++seq}}`));
    if (!sock.write(Buffer.concat(parts))) await new Promise((r) => sock.once("drain", r));
  }
  const end = Date.now();
  const floodMs = end - start;
  // Count by the server's own publish timestamp, so delays on this (busy) client side don't matter.
  // Frames arrive in publish order: once one published after the flood is here, all are.
  await watcher.until(() => watcher.totalsFrames().some((f) => f.ts > end), "a totals frame published after the flood", 30_000);
  const during = watcher.totalsFrames().filter((f) => f.ts >= start && f.ts <= end).length;
  const expected = floodMs / 100;
  t.diagnostic(
    `flood: ${seq} buzzes in ${floodMs} ms (${Math.round((seq * 1000) / floodMs)}/s); watcher got ${during} totals frames (${((during / expected) * 100).toFixed(0)}% of the tick rate)`,
  );
  assert.ok(
    during >= expected * 0.5,
    `watcher got ${during} totals frames in ${floodMs} ms of flood (tick 100 ms => ${expected.toFixed(0)})`,
  );
  // Every flooded buzz is counted: the flooder's cumulative ack and the watcher's total agree.
  await flooder.until(() => flooder.lastAck?.seq === seq, `ack of all ${seq} buzzes`, 30_000);
  assert.equal(flooder.lastAck?.counted, seq);
  await watcher.until(() => watcher.totals["act-1"] === before + seq, `total ${before + seq}`, 10_000);
  // The flood starved the timer: the due-check on the message path ran ticks.
  const msgTicks = (await fromMessagePath()) - msgTicksBefore;
  t.diagnostic(`ticks run from the message path during the flood: ${msgTicks}`);
  assert.ok(msgTicks > 0, "no tick ran from the message path during the flood");
  watcher.close();
  flooder.close();
});
