/**
 * Baseline: bare uWebSockets.js, the physical-limit reference. Same buzz-and-tick semantics as
 * buzzcast, nothing else: hello -> subscribe + welcome; buzz -> JSON.parse and count; every TICK_MS a
 * plain setInterval publishes one totals frame (serialized once) to the show's topic. No validation
 * beyond the type check, no acks, no rate limits, no store: what is left is parsing, counting and
 * fan-out. Under a flood its setInterval starves (that is part of what it shows).
 * Env: PORT (0 = any), HOST (127.0.0.1), TICK_MS (100). Prints the same "listening" JSON line as the
 * server. GET /api/shows/demo returns { show, stage, epoch, seq, totals }. SIGTERM exits.
 * ACTS (3) and SEED_TOTAL (0): the show's act count and every act's starting total (the bench's
 * `--acts 10 --seed-total 1000000` show, without a flood to seed it).
 * COMPRESSION (off | shared | dedicated): permessage-deflate as a peer would enable it
 * (uWS.SHARED_COMPRESSOR: one compressor, no context kept between messages; DEDICATED_COMPRESSOR_4KB:
 * a compressor per connection with a 4 KB sliding window), the totals published compressed. The
 * `uws-deflate` bench baseline is this file with COMPRESSION=shared.
 */
import { PROTOCOL_VERSION, WS_PATH, type ShowState, type TotalsFrame, type Welcome } from "../../shared/protocol.ts";
import uWS from "uWebSockets.js";

const PORT = Number(process.env.PORT ?? 0);
const HOST = process.env.HOST ?? "127.0.0.1";
const TICK_MS = Number(process.env.TICK_MS ?? 100);
const ACTS = Number(process.env.ACTS ?? 3);
const SEED_TOTAL = Number(process.env.SEED_TOTAL ?? 0);
const COMPRESSION = process.env.COMPRESSION ?? "off";
const SHOW = { id: "demo", title: "Demo", acts: Array.from({ length: ACTS }, (_, i) => ({ id: `act-${i + 1}`, name: `Act ${i + 1}` })) };
const stage = { act: "act-1", open: true };
const epoch = `bare-uws-${Date.now()}`;
const totals: Record<string, number> = Object.fromEntries(SHOW.acts.map((a) => [a.id, SEED_TOTAL]));
let seq = 0;
const decoder = new TextDecoder();

// The uWebSockets.js build in use falls back silently to a ws-based JS shim if its addon fails to load.
if (typeof uWS.us_socket_local_port !== "function" || typeof uWS.getParts !== "function") {
  process.stderr.write("bare-uws baseline: native uWebSockets.js addon not loaded; refusing to measure the JS fallback\n");
  process.exit(1);
}

interface Conn {
  hello: boolean;
}

const COMPRESSORS: Record<string, number> = {
  off: uWS.DISABLED,
  shared: uWS.SHARED_COMPRESSOR,
  dedicated: uWS.DEDICATED_COMPRESSOR_4KB,
};
const compression = COMPRESSORS[COMPRESSION];
if (compression === undefined || !Number.isInteger(ACTS) || ACTS < 1 || !Number.isSafeInteger(SEED_TOTAL) || SEED_TOTAL < 0) {
  process.stderr.write(`bare-uws baseline: bad COMPRESSION (off|shared|dedicated), ACTS or SEED_TOTAL\n`);
  process.exit(2);
}

const app = uWS.App();
app.ws<Conn>(WS_PATH, {
  compression,
  maxPayloadLength: 16 * 1024,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    res.upgrade<Conn>(
      { hello: false },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  message: (ws, data) => {
    let msg: { type?: unknown; act?: unknown; show?: unknown };
    try {
      msg = JSON.parse(decoder.decode(data)) as typeof msg;
    } catch {
      return ws.end(4000, "not JSON");
    }
    const c = ws.getUserData();
    if (msg.type === "buzz" && c.hello && typeof msg.act === "string" && msg.act in totals) {
      totals[msg.act]!++;
    } else if (msg.type === "hello" && !c.hello && msg.show === SHOW.id) {
      c.hello = true;
      ws.subscribe(SHOW.id);
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
  },
});
app.get("/api/shows/:show", (res, req) => {
  if (req.getParameter(0) !== SHOW.id) {
    res.writeStatus("404 Not Found").end("{}");
    return;
  }
  const state: ShowState = { show: SHOW, stage, epoch, seq, totals };
  res.writeHeader("content-type", "application/json").end(JSON.stringify(state));
});

setInterval(() => {
  seq++;
  const frame: TotalsFrame = { type: "totals", show: SHOW.id, epoch, seq, ts: Date.now(), totals };
  app.publish(SHOW.id, JSON.stringify(frame), false, compression !== uWS.DISABLED);
}, TICK_MS);

app.listen(HOST, PORT, (listenSocket) => {
  if (!listenSocket) {
    process.stderr.write(`bare-uws baseline: cannot listen on ${HOST}:${PORT}\n`);
    process.exit(1);
  }
  const port = uWS.us_socket_local_port(listenSocket);
  process.stdout.write(
    `${JSON.stringify({ msg: "listening", server: "bare-uws", compression: COMPRESSION, port, url: `http://${HOST}:${port}` })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
