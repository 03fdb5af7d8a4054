import assert from "node:assert/strict";
import { test } from "node:test";
import { viewerId } from "./viewer-id.ts";

function memoryStorage(): Pick<Storage, "getItem" | "setItem"> & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

test("the viewer id is created once and then reused from storage", () => {
  const s = memoryStorage();
  const first = viewerId(s);
  assert.match(first, /^v-[0-9a-f]{32}$/);
  assert.equal(viewerId(s), first);
  assert.equal(s.data.get("buzzcast.viewer"), first);
});

test("without storage every call makes a fresh, valid id", () => {
  const a = viewerId(null);
  const b = viewerId(null);
  assert.notEqual(a, b);
  assert.ok(a.length <= 128, "fits the protocol's ViewerId limit");
});
