import { test } from "node:test";
import assert from "node:assert/strict";
import { storeContract } from "./store.contract.ts";
import { AtomicStore, SLOT_BYTES, SlotAllocator } from "./atomic-store.ts";

function pair(capacity = 64) {
  const buffer = new SharedArrayBuffer(capacity * SLOT_BYTES);
  const alloc = new SlotAllocator(capacity);
  const slotFor = async (key: string) => alloc.slotFor(key);
  return { a: new AtomicStore(buffer, slotFor), b: new AtomicStore(buffer, slotFor) };
}

storeContract("AtomicStore (two workers on one buffer)", async () => {
  const { a, b } = pair();
  return { store: a, peer: b, cleanup: async () => {} };
});

test("SlotAllocator: one slot per key, stable, refuses past capacity", () => {
  const alloc = new SlotAllocator(2);
  assert.equal(alloc.slotFor("x"), 0);
  assert.equal(alloc.slotFor("y"), 1);
  assert.equal(alloc.slotFor("x"), 0);
  assert.throws(() => alloc.slotFor("z"), /counter table full/);
});
