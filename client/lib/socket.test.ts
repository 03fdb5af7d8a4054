import assert from "node:assert/strict";
import { test } from "node:test";
import { toWsUrl } from "./socket.ts";

test("http(s) page and server URLs map to the ws endpoint on the same host", () => {
  assert.equal(toWsUrl("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
  assert.equal(toWsUrl("http://localhost:8080/?show=demo#x"), "ws://localhost:8080/ws");
  assert.equal(toWsUrl("https://buzz.example/console?show=a"), "wss://buzz.example/ws");
  assert.equal(toWsUrl("HTTPS://Buzz.example"), "wss://Buzz.example/ws");
});

test("ws(s) URLs are used as given", () => {
  assert.equal(toWsUrl("ws://127.0.0.1:9/ws"), "ws://127.0.0.1:9/ws");
  assert.equal(toWsUrl("wss://h/custom/path"), "wss://h/custom/path");
});
