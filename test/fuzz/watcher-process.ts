/**
 * A child process of viewers that keep reading (watcher.ts), driven by watcher-fleet.ts over IPC:
 * it opens its share of watchers, then answers `start` (begin a window), `stop` (the window's
 * totals frames and latencies) and `close` (close them all: how many had been closed before, then
 * exit). Reading thousands of connections in the test's own thread would measure that thread.
 */
import { Watcher } from "./watcher.ts";

export type FleetCommand = { type: "start" } | { type: "stop" } | { type: "close" };
export type FleetReport =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "window"; frames: number; lat: number[] }
  | { type: "closed"; closedEarly: number };

const [wsUrl, show, count] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const send = (r: FleetReport): void => void process.send!(r);

const watchers: Watcher[] = [];
try {
  for (let i = 0; i < count; i += 100)
    watchers.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => Watcher.open(wsUrl, show, 2)))));
  send({ type: "ready" });
} catch (err) {
  send({ type: "failed", error: String(err) });
  process.exit(1);
}

let from: number[] = [];
let lat: number[] = [];
process.on("message", (m: FleetCommand) => {
  if (m.type === "start") {
    from = watchers.map((w) => w.totals);
    lat = [];
    for (const w of watchers) w.lat = lat;
  } else if (m.type === "stop") {
    for (const w of watchers) w.lat = null;
    send({ type: "window", frames: watchers.reduce((s, w, i) => s + w.totals - from[i]!, 0), lat });
  } else {
    const closedEarly = watchers.filter((w) => w.closeCode !== null).length;
    for (const w of watchers) w.close();
    send({ type: "closed", closedEarly });
    process.disconnect();
  }
});
