/**
 * A client that stops reading: frames to it are dropped (not queued) once it is over the
 * backpressure limit, it is closed with the reconnect-allowed slow_consumer code, server memory
 * stays flat, and readers that keep up are unaffected.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { CLOSE } from "../shared/codes.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

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

test("a reader that stops reading is dropped then closed; memory stays bounded; others keep up", async (t) => {
  // 100 acts with long ids make every totals frame ~8 KB; a buzz every few ms changes it every tick.
  const acts = Array.from({ length: 100 }, (_, i) => ({ id: `act-${String(i).padStart(3, "0")}-${"x".repeat(52)}`, name: `Act ${i}` }));
  await admin(srv, "PUT", "/api/shows/big", { title: "Big", acts });
  await admin(srv, "POST", "/api/shows/big/stage", { act: acts[0]!.id, open: true });
  const slow = await TestViewer.join(srv.wsUrl, "big");
  const good = await TestViewer.join(srv.wsUrl, "big");
  const buzzer = await TestViewer.join(srv.wsUrl, "big");
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  const pid = srv.proc.pid!;
  const rssStart = rssBytes(pid);
  const published0 = await metric("buzzcast_frames_published_total");
  const deadline = Date.now() + 20_000;
  let rssMax = rssStart;
  while (Date.now() < deadline && (await metric('buzzcast_closes_total{code="slow_consumer"}')) < 1) {
    for (let i = 0; i < 20; i++) buzzer.buzz(acts[0]!.id);
    rssMax = Math.max(rssMax, rssBytes(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  const published = (await metric("buzzcast_frames_published_total")) - published0;
  t.diagnostic(
    `published ${published} frames (~${Math.round((published * 8) / 1024)} MB to the slow reader); server RSS ${Math.round(rssStart / 1e6)} -> max ${Math.round(rssMax / 1e6)} MB`,
  );
  assert.equal(await metric('buzzcast_closes_total{code="slow_consumer"}'), 1, "the slow reader was closed as slow_consumer");
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
