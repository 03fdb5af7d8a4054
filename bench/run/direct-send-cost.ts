/**
 * What a direct fan-out (server/transport/fanout.ts: one ws.send of the same serialized frame per
 * subscriber, from JS) costs against uWS's own publish (its topic tree, drained in C++ at the end of
 * the loop iteration), in server CPU per delivery, at N subscribers (default 10,000).
 *
 *   node --import tsx bench/run/direct-send-cost.ts [subscribers] [rounds]
 *
 * The subscribers are `ws` clients in a child process (they only read). Each round sends one ~150
 * byte totals-like frame to all of them, then yields one loop iteration (setImmediate) so uWS
 * drains; the figure is this process's CPU (user + system, so the write syscalls count) per delivery
 * over the rounds, publish and direct alternating in blocks.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import uWS from "uWebSockets.js";
import WebSocket from "ws";
import { tsxExecArgv } from "./tsx-args.ts";

const TOPIC = "show/demo";

async function child(port: number, n: number): Promise<void> {
  let open = 0;
  let received = 0;
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
    ws.on("open", () => {
      if (++open === n) process.send!({ type: "open" });
    });
    ws.on("message", () => received++);
    ws.on("error", (err) => process.send!({ type: "error", message: String(err) }));
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
  }
  process.on("message", () => process.send!({ type: "received", received }));
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10_000);
  const rounds = Number(process.argv[3] ?? 200);
  const subs = new Set<uWS.WebSocket<unknown>>();
  const app = uWS.App().ws("/ws", {
    compression: uWS.DISABLED,
    maxBackpressure: 1 << 20,
    open: (ws) => {
      ws.subscribe(TOPIC);
      subs.add(ws);
    },
    close: (ws) => subs.delete(ws),
  });
  const port = await new Promise<number>((resolve) => app.listen("127.0.0.1", 0, (s) => resolve(uWS.us_socket_local_port(s))));
  const proc = fork(fileURLToPath(import.meta.url), ["--child", String(port), String(n)], { execArgv: tsxExecArgv() });
  await new Promise<void>((resolve, reject) =>
    proc.on("message", (m: { type: string; message?: string }) =>
      m.type === "open" ? resolve() : m.type === "error" ? reject(new Error(m.message)) : undefined,
    ),
  );
  const frame = JSON.stringify({
    type: "totals",
    show: "demo",
    epoch: "lz3k9a0-abc123",
    seq: 1,
    ts: Date.now(),
    totals: { "act-1": 1234567, "act-2": 7654321 },
  });
  const tick = () => new Promise((r) => setImmediate(r));
  const cpu = { publish: 0, direct: 0 };
  const measure = async (kind: "publish" | "direct", k: number): Promise<void> => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < k; i++) {
      if (kind === "publish") app.publish(TOPIC, frame, false, false);
      else for (const ws of subs) ws.send(frame, false, false);
      await tick();
    }
    const d = process.cpuUsage(t0);
    cpu[kind] += (d.user + d.system) / 1000;
    await new Promise((r) => setTimeout(r, 100)); // let the clients read
  };
  await measure("publish", 10);
  await measure("direct", 10);
  cpu.publish = cpu.direct = 0;
  for (let b = 0; b < 4; b++) {
    await measure("publish", rounds / 4);
    await measure("direct", rounds / 4);
  }
  const per = (ms: number) => ((ms * 1000) / (rounds * subs.size)).toFixed(3);
  process.stdout.write(
    `${subs.size} subscribers, ${rounds} frames each way: publish ${per(cpu.publish)} us/delivery, direct ${per(cpu.direct)} us/delivery ` +
      `(direct: ${(cpu.direct / rounds).toFixed(2)} ms of CPU per frame to all)\n`,
  );
  proc.kill();
  process.exit(0);
}

if (process.argv[2] === "--child") void child(Number(process.argv[3]), Number(process.argv[4]));
else void main();
