/**
 * Frames on time under a flood. Many connections whose receive queues are
 * full of buzz frames make each uWebSockets.js loop iteration long (it reads up to 512 KB from every
 * ready socket); ticks then fire from the message path inside that iteration. Frames published
 * there used to wait for the iteration's end and reach a watcher several at a time, in one TCP
 * write. Now they are sent at once (server/transport/fanout.ts).
 * Asserted as counts, not wall-clock figures (the bench measures lateness): the server sent frames
 * directly during the flood, most totals frames reached the watcher in a read of their own, and
 * every flooded buzz is counted exactly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { encodeText } from "../bench/generator/ws-frame.ts";
import { startServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

const FLOODERS = 50;
const BYTES_EACH = 2 * 1024 * 1024;

async function counter(url: string, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\d+)`, "m").exec(await (await fetch(`${url}/metrics`)).text());
  assert.ok(m, `metric ${name} exists`);
  return Number(m[1]);
}

test("under a flood that makes uWS iterations long, totals frames are sent at once, not held to the iteration's end", async (t) => {
  const srv = await startServer({ TICK_MS: "100", BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0", MAX_CONNECT_RATE: "0" });
  try {
    const watcher = await TestViewer.join(srv.wsUrl, "demo");
    const flooders = await Promise.all(Array.from({ length: FLOODERS }, () => TestViewer.join(srv.wsUrl, "demo")));
    const before = watcher.totals["act-1"] ?? 0;
    // Totals frames per read of the watcher's socket (ws parses a read's frames before our listener runs).
    const sock = (watcher.ws as unknown as { _socket: Socket })._socket;
    let seen = watcher.totalsFrames().length;
    let maxPerRead = 0;
    let reads = 0;
    let frames = 0;
    sock.on("data", () => {
      const now = watcher.totalsFrames().length;
      if (now > seen) reads++;
      frames += now - seen;
      maxPerRead = Math.max(maxPerRead, now - seen);
      seen = now;
    });
    const directBefore = await counter(srv.url, "buzzcast_frames_sent_direct_total");
    // Queue the whole flood at once: the kernel and uWS then always have full buffers to read. One
    // buffer (seq 1..n) serves every flooder: seq only has to increase per connection.
    const frameBytes = encodeText(`{"type":"buzz","act":"act-1","seq":1000000}`).length;
    const perFlooder = Math.floor(BYTES_EACH / frameBytes);
    const parts: Buffer[] = [];
    for (let i = 1; i <= perFlooder; i++) parts.push(encodeText(`{"type":"buzz","act":"act-1","seq":${1_000_000 + i}}`));
    const flood = Buffer.concat(parts);
    seen = watcher.totalsFrames().length;
    maxPerRead = 0;
    reads = 0;
    frames = 0;
    for (const f of flooders) (f.ws as unknown as { _socket: Socket })._socket.write(flood);
    const sent = perFlooder * FLOODERS;
    await watcher.until(() => watcher.totals["act-1"] === before + sent, `total ${before + sent}`, 60_000);
    const direct = (await counter(srv.url, "buzzcast_frames_sent_direct_total")) - directBefore;
    t.diagnostic(
      `${sent} buzzes from ${FLOODERS} connections; ${direct} frames sent directly; watcher: ${frames} totals frames in ${reads} reads, at most ${maxPerRead} in one`,
    );
    assert.ok(direct > 0, "ticks fired inside the flood sent their frames directly");
    assert.ok(frames >= 10, `the watcher saw the totals move during the flood (${frames} frames)`);
    // Held back to the end of a long iteration, a tick's frames reached the watcher several per write
    // (measured without the fix: 50 frames in 9 reads); sent at once, nearly one per read (46 of 49).
    assert.ok(reads >= frames / 2, `${frames} totals frames came in ${reads} reads: most frames arrived on their own`);
    for (const f of flooders) await f.until(() => f.lastAck?.seq === 1_000_000 + perFlooder, "ack of the whole flood", 30_000);
    assert.equal(
      flooders.reduce((n, f) => n + (f.lastAck?.counted ?? 0), 0),
      sent,
      "every flooded buzz counted",
    );
    watcher.close();
    for (const f of flooders) f.close();
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
