/**
 * Baseline: a plain `ws` server with buzzcast's buzz-and-tick semantics and nothing else:
 * hello -> join + welcome; buzz -> JSON.parse and count; every TICK_MS a plain setInterval sends one
 * totals frame, serialized once into one Buffer, to every subscriber (ws frames it per socket).
 * No validation beyond the type check, no acks, no rate limits, no store.
 * Env: PORT (0 = any), HOST (127.0.0.1), TICK_MS (100). Prints the same "listening" JSON line as the
 * server. GET /api/shows/demo returns { show, stage, epoch, seq, totals }. SIGTERM exits.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { PROTOCOL_VERSION, WS_PATH, type ShowState, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";

const PORT = Number(process.env.PORT ?? 0);
const HOST = process.env.HOST ?? "127.0.0.1";
const TICK_MS = Number(process.env.TICK_MS ?? 100);
const SHOW = { id: "demo", title: "Demo", acts: [1, 2, 3].map((i) => ({ id: `act-${i}`, name: `Act ${i}` })) };
const stage = { act: "act-1", open: true };
const epoch = `ws-${Date.now()}`;
const totals: Record<string, number> = Object.fromEntries(SHOW.acts.map((a) => [a.id, 0]));
let seq = 0;
const subscribers = new Set<WebSocket>();

const http = createServer((req, res) => {
  if (req.method === "GET" && req.url === `/api/shows/${SHOW.id}`) {
    const state: ShowState = { show: SHOW, stage, epoch, seq, totals };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state));
  } else res.writeHead(404).end("{}");
});
const wss = new WebSocketServer({ server: http, path: WS_PATH, perMessageDeflate: false, maxPayload: 16 * 1024 });
wss.on("connection", (ws) => {
  let hello = false;
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    let msg: { type?: unknown; act?: unknown; show?: unknown };
    try {
      msg = JSON.parse((data as Buffer).toString()) as typeof msg;
    } catch {
      return ws.close(4000, "not JSON");
    }
    if (msg.type === "buzz" && hello && typeof msg.act === "string" && msg.act in totals) {
      totals[msg.act]!++;
    } else if (msg.type === "hello" && !hello && msg.show === SHOW.id) {
      hello = true;
      subscribers.add(ws);
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
      ws.send(JSON.stringify(welcome));
    }
  });
  ws.on("close", () => subscribers.delete(ws));
  ws.on("error", () => subscribers.delete(ws));
});

setInterval(() => {
  seq++;
  const frame: TotalsFrame = { type: "totals", show: SHOW.id, epoch, seq, ts: Date.now(), totals };
  const bytes = Buffer.from(JSON.stringify(frame));
  for (const ws of subscribers) ws.send(bytes, { binary: false });
}, TICK_MS);

http.listen(PORT, HOST, () => {
  const port = (http.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ msg: "listening", server: "ws", port, url: `http://${HOST}:${port}` })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
