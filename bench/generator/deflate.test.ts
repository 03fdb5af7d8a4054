/**
 * permessage-deflate in the lean client, against `ws`'s server (RFC 7692): negotiated only when
 * offered; compressed messages with and without context takeover arrive whole and in order, and
 * their size on the wire is the compressed size. Also the v2 subprotocol offer: the answer must
 * select it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { WebSocketServer } from "ws";
import { openSingleClient } from "./single-client.ts";

const servers: WebSocketServer[] = [];
after(() => servers.forEach((s) => s.close()));

async function server(opts: ConstructorParameters<typeof WebSocketServer>[0]): Promise<string> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ws", ...opts });
  servers.push(wss);
  await once(wss, "listening");
  wss.on("connection", (ws) => {
    ws.on("message", (data: Buffer) => {
      // The same compressible frame several times: with context takeover later copies shrink.
      const frame = JSON.stringify({
        type: "totals",
        seq: 1,
        totals: Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`act-${i}`, 1234567])),
      });
      for (let i = 0; i < 5; i++) ws.send(`${frame}${i}`);
      ws.send(data.toString().toUpperCase());
    });
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
}

for (const serverNoContextTakeover of [true, false]) {
  test(`deflate ${serverNoContextTakeover ? "without" : "with"} context takeover: messages whole, in order, counted compressed`, async () => {
    const url = await server({ perMessageDeflate: { threshold: 0, serverNoContextTakeover } });
    const c = await openSingleClient(url, { offer: { deflate: true } });
    c.send("x", "hello");
    await c.waitFor((m) => m === "HELLO");
    assert.equal(c.messages.length, 6);
    c.messages.slice(0, 5).forEach((m, i) => assert.ok(m.endsWith(`}${i}`), "in order"));
    assert.equal(c.conn.compressedMessages, 6);
    const sizes = c.wireSizes;
    const raw = c.messages[0]!.length + 2;
    assert.ok(sizes[0]! < raw, `the wire size (${sizes[0]}) is the compressed one, below ${raw}`);
    if (!serverNoContextTakeover) assert.ok(sizes[4]! < sizes[0]!, "context takeover shrinks repeats");
    c.close(1000);
    await c.closed;
  });
}

test("deflate not offered: the server sends plain frames; a v2 offer must be selected", async () => {
  const url = await server({ perMessageDeflate: { threshold: 0 }, handleProtocols: (p) => (p.has("buzzcast.v2") ? "buzzcast.v2" : false) });
  const plain = await openSingleClient(url);
  plain.send("x", "a");
  await plain.waitFor((m) => m === "A");
  assert.equal(plain.conn.compressedMessages, 0);
  plain.close(1000);
  const v2 = await openSingleClient(url, { offer: { subprotocol: "buzzcast.v2" } });
  v2.close(1000);
  const refused = await openSingleClient(url, { offer: { subprotocol: "other" } }).catch((e: Error) => e);
  assert.ok(refused instanceof Error && /subprotocol/.test(refused.message), "the handshake is refused");
});
