/**
 * Baseline: a socket.io server (websocket transport only) with buzzcast's buzz-and-tick semantics
 * and nothing else. A protocol message `m` travels as the event `m.type` with `m` as its argument
 * (`42["buzz",{...}]`, see bench/generator/dialect.ts). hello -> join the show's room + `welcome`;
 * buzz -> count; every TICK_MS a plain setInterval emits one `totals` event to the room (socket.io
 * encodes a broadcast once). No validation beyond the type check, no acks, no rate limits, no store.
 * Env: PORT (0 = any), HOST (127.0.0.1), TICK_MS (100). Prints the same "listening" JSON line as the
 * server. GET /api/shows/demo returns { show, stage, epoch, seq, totals }. SIGTERM exits.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { PROTOCOL_VERSION, type ShowState, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";

const PORT = Number(process.env.PORT ?? 0);
const HOST = process.env.HOST ?? "127.0.0.1";
const TICK_MS = Number(process.env.TICK_MS ?? 100);
const SHOW = { id: "demo", title: "Demo", acts: [1, 2, 3].map((i) => ({ id: `act-${i}`, name: `Act ${i}` })) };
const stage = { act: "act-1", open: true };
const epoch = `socketio-${Date.now()}`;
const totals: Record<string, number> = Object.fromEntries(SHOW.acts.map((a) => [a.id, 0]));
let seq = 0;

const http = createServer((req, res) => {
  if (req.method === "GET" && req.url === `/api/shows/${SHOW.id}`) {
    const state: ShowState = { show: SHOW, stage, epoch, seq, totals };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state));
  } else if (!req.url?.startsWith("/socket.io/")) res.writeHead(404).end("{}");
});
const io = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 16 * 1024 });
io.on("connection", (socket) => {
  let hello = false;
  socket.on("hello", (msg: { show?: unknown }) => {
    if (hello || msg?.show !== SHOW.id) return;
    hello = true;
    void socket.join(SHOW.id);
    const welcome: Welcome = {
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      show: SHOW,
      stage,
      tickMs: TICK_MS,
      epoch,
      seq,
      totals,
      policy: "unlimited",
    };
    socket.emit("welcome", welcome);
  });
  socket.on("buzz", (msg: { act?: unknown }) => {
    if (hello && typeof msg?.act === "string" && msg.act in totals) totals[msg.act]!++;
  });
});

setInterval(() => {
  seq++;
  const frame: TotalsFrame = { type: "totals", show: SHOW.id, epoch, seq, ts: Date.now(), totals };
  io.to(SHOW.id).emit("totals", frame);
}, TICK_MS);

http.listen(PORT, HOST, () => {
  const port = (http.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: "listening", server: "socketio", port, url: `http://${HOST}:${port}` })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
