/**
 * A client that stops reading: frames to it are dropped (not queued) once it is over the
 * backpressure limit, it is closed with the reconnect-allowed slow_consumer code, server memory
 * stays flat, and readers that keep up are unaffected. Over protocol v1 and v2.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { CLOSE } from "../shared/codes.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer, type Protocol } from "./harness/ws-client.ts";

let srv: RunningServer;
before(async () => {
  srv = await startServer({
    TICK_MS: "10",
    BUZZ_POLICY: "unlimited",
    RATE_LIMIT_PER_SEC: "0",
    MAX_BACKPRESSURE: "16384",
    SWEEP_MS: "100",
    SLOW_CONSUMER_SWEEPS: "3",
  });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : 0;
}

for (const protocol of [1, 2] as const satisfies Protocol[]) {
  test(`v${protocol}: a reader that stops reading is dropped then closed; memory stays bounded; others keep up`, async (t) => {
    // 100 acts with long ids make every v1 totals frame ~8 KB; a buzz every few ms changes it every
    // tick. v2 sends that act's change alone (a few bytes): there the volume comes from show edits,
    // each a ~7 KB show frame (the act table) and a keyframe.
    const show = `big-v${protocol}`;
    const acts = Array.from({ length: 100 }, (_, i) => ({ id: `act-${String(i).padStart(3, "0")}-${"x".repeat(52)}`, name: `Act ${i}` }));
    await admin(srv, "PUT", `/api/shows/${show}`, { title: "Big", acts });
    await admin(srv, "POST", `/api/shows/${show}/stage`, { act: acts[0]!.id, open: true });
    const slow = await TestViewer.join(srv.wsUrl, show, undefined, { protocol });
    const good = await TestViewer.join(srv.wsUrl, show, undefined, { protocol });
    const buzzer = await TestViewer.join(srv.wsUrl, show, undefined, { protocol });
    let edits = 0;
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const pid = srv.proc.pid!;
    const rssStart = rssBytes(pid);
    const delivered = `buzzcast_protocol_bytes_delivered_total{protocol="v${protocol}"}`;
    const published0 = await metric("buzzcast_frames_published_total");
    const delivered0 = await metric(delivered);
    const closed0 = await metric('buzzcast_closes_total{code="slow_consumer"}');
    const deadline = Date.now() + 20_000;
    let rssMax = rssStart;
    while (Date.now() < deadline && (await metric('buzzcast_closes_total{code="slow_consumer"}')) < closed0 + 1) {
      for (let i = 0; i < 20; i++) buzzer.buzz(acts[0]!.id);
      if (protocol === 2) {
        await Promise.all(Array.from({ length: 10 }, () => admin(srv, "PUT", `/api/shows/${show}`, { title: `Big ${++edits % 2}`, acts })));
      }
      rssMax = Math.max(rssMax, rssBytes(pid));
      await new Promise((r) => setTimeout(r, 20));
    }
    const published = (await metric("buzzcast_frames_published_total")) - published0;
    const perReader = ((await metric(delivered)) - delivered0) / 3; // three subscribers
    t.diagnostic(
      `published ${published} totals frames (~${(perReader / 1e6).toFixed(1)} MB to each reader); server RSS ${Math.round(rssStart / 1e6)} -> max ${Math.round(rssMax / 1e6)} MB`,
    );
    assert.equal(await metric('buzzcast_closes_total{code="slow_consumer"}'), closed0 + 1, "the slow reader was closed as slow_consumer");
    assert.ok(rssMax - rssStart < 64 * 1024 * 1024, "server memory did not grow with what the slow reader failed to take");
    // The reader that keeps up saw the latest total; the slow one, once it reads again, sees the close.
    const n = buzzer.lastAck?.counted ?? 0;
    await good.until(() => (good.totals[acts[0]!.id] ?? 0) >= n, "good reader up to date");
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    const code = await Promise.race([slow.closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    assert.ok(code === CLOSE.slow_consumer.code || code === 1006, `slow reader closed with ${code}`);
    good.close();
    buzzer.close();
  });
}
