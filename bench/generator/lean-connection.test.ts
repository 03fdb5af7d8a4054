/**
 * Conformance of the lean client against `ws`'s WebSocketServer (a strict RFC 6455 implementation:
 * it closes with 1002 on an unmasked client frame, checks the handshake, and validates UTF-8).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { WebSocketServer, type WebSocket } from "ws";
import { openSingleClient } from "./single-client.ts";

let wss: WebSocketServer;
let url: string;
const serverSockets: WebSocket[] = [];
const received: Array<{ data: string; isBinary: boolean }> = [];

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ws", maxPayload: 1 << 20 });
  await once(wss, "listening");
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
  wss.on("connection", (ws) => {
    serverSockets.push(ws);
    ws.on("message", (data, isBinary) => {
      const text = (data as Buffer).toString();
      received.push({ data: text, isBinary });
      if (text.startsWith("echo:")) ws.send(text.slice(5));
      if (text === "fragments") {
        ws.send("frag-", { fin: false });
        ws.send("ment-", { fin: false });
        ws.send("ed", { fin: true });
      }
      if (text === "ping-me") ws.ping("abc");
      if (text.startsWith("close:")) ws.close(Number(text.slice(6)), "server says bye");
    });
  });
});

after(async () => {
  for (const s of serverSockets) s.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
});

test("handshake, masked text frames of every length class, both directions", async () => {
  const c = await openSingleClient(url);
  for (const len of [1, 125, 126, 65535, 65536, 200_000]) {
    const body = "é".repeat(Math.floor(len / 2)) + "a".repeat(len % 2);
    const n = c.messages.length;
    c.send("echo", `echo:${body}`);
    const got = await c.waitFor(() => true, 10_000, n);
    assert.equal(got, body, `length ${len}`);
  }
  assert.ok(received.every((r) => !r.isBinary));
  c.close(1000);
  const closed = await c.closed;
  assert.equal(closed.code, 1000);
});

test("fragmented server messages are reassembled", async () => {
  const c = await openSingleClient(url);
  c.send("x", "fragments");
  assert.equal(await c.waitFor(() => true), "frag-ment-ed");
  c.close();
  await c.closed;
});

test("answers pings with pongs carrying the same payload", async () => {
  const c = await openSingleClient(url);
  const ws = serverSockets[serverSockets.length - 1]!;
  const pong = once(ws, "pong");
  c.send("x", "ping-me");
  const [payload] = (await pong) as [Buffer];
  assert.equal(payload.toString(), "abc");
  c.close();
  await c.closed;
});

test("client-initiated close handshake: the server sees our code and reason", async () => {
  const c = await openSingleClient(url);
  const ws = serverSockets[serverSockets.length - 1]!;
  const serverClosed = once(ws, "close");
  c.close(4321, "done here");
  const [code, reason] = (await serverClosed) as [number, Buffer];
  assert.equal(code, 4321);
  assert.equal(reason.toString(), "done here");
  assert.equal((await c.closed).code, 4321);
});

test("server-initiated close: the client reports the server's code and reason", async () => {
  const c = await openSingleClient(url);
  c.send("x", "close:4002");
  const closed = await c.closed;
  assert.equal(closed.code, 4002);
  assert.equal(closed.reason, "server says bye");
  assert.equal(closed.error, undefined);
});

test("a wrong path is a rejected handshake, not an open connection", async () => {
  await assert.rejects(openSingleClient(url.replace("/ws", "/nope")), /closed before opening/);
});

test("SO_SNDBUF is capped when a source address is given", async () => {
  const c = await openSingleClient(url, { localAddress: "127.0.0.7", sndbuf: 65536 });
  assert.equal(c.conn.socket?.localAddress, "127.0.0.7");
  // Linux doubles the requested value and reports the effective one.
  assert.equal(c.conn.sndbuf, 2 * 65536);
  c.send("echo", "echo:ok");
  assert.equal(await c.waitFor(() => true), "ok");
  c.close();
  await c.closed;
});
