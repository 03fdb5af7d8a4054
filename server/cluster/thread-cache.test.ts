/**
 * ThreadCache over the supervisor's MemoryCache passes the Cache contract; every request and reply
 * goes through a structured clone, as over a worker's message port.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheContract, rejectsWith } from "../cache/cache.contract.ts";
import { MemoryCache } from "../cache/memory-cache.ts";
import { RpcError } from "./thread-rpc.ts";
import { serveCacheOp, ThreadCache } from "./thread-cache.ts";

cacheContract("ThreadCache over the supervisor's MemoryCache", async () => {
  const node = new MemoryCache();
  const cache = new ThreadCache(async (op) => structuredClone(await serveCacheOp(node, structuredClone(op))));
  return { cache, cleanup: () => node.close() };
});

test("a supervisor that does not answer in time is a cache timeout; other failures are unreachable", async () => {
  const slow = new ThreadCache(() => Promise.reject(new RpcError("timeout", "no answer")));
  await rejectsWith(slow.incr("k", 1), "timeout");
  const gone = new ThreadCache(() => Promise.reject(new Error("port closed")));
  await rejectsWith(gone.get("k"), "unreachable");
  const node = new MemoryCache();
  await node.set("n", "x");
  const cache = new ThreadCache((op) => serveCacheOp(node, op));
  await rejectsWith(cache.incr("n", 1), "bad_value");
  assert.equal(await cache.add("n", "y"), false);
});
