/**
 * The node's one in-process cache, shared by its worker threads when MySQL is configured without
 * memcached: the supervisor holds a MemoryCache (`serveCacheOp`) and every worker reaches it through
 * a ThreadCache, so the workers count, claim and relay shows through one cache exactly as nodes do
 * through one memcached (each worker a node of the record).
 *
 * Guarantees: the supervisor applies each operation when its message arrives, in arrival order,
 * exactly once (MemoryCache). A reply that does not come within the RPC timeout rejects with
 * CacheError("timeout"): the operation may still have been applied, as with memcached, and the
 * store treats it so. Lost with the process, like memcached's contents with memcached: the record
 * re-seeds it.
 */
import { CacheError, type Cache, type CacheErrorCode } from "../cache/cache.ts";
import { RpcError } from "./thread-rpc.ts";

export type CacheOp =
  | { op: "get"; key: string }
  | { op: "getMany"; keys: string[] }
  | { op: "set"; key: string; value: string; ttlSec?: number }
  | { op: "add"; key: string; value: string; ttlSec?: number }
  | { op: "incr"; key: string; amount: number }
  | { op: "delete"; key: string };

export type CacheValue = string | number | boolean | null | Array<[string, string]> | undefined;

export interface CacheReply {
  value?: CacheValue;
  error?: { code: CacheErrorCode; message: string };
}

/** Run one operation on the supervisor's cache; errors become a reply, never a throw. */
export async function serveCacheOp(cache: Cache, m: CacheOp): Promise<CacheReply> {
  try {
    switch (m.op) {
      case "get":
        return { value: await cache.get(m.key) };
      case "getMany":
        return { value: [...(await cache.getMany(m.keys))] };
      case "set":
        await cache.set(m.key, m.value, m.ttlSec);
        return {};
      case "add":
        return { value: await cache.add(m.key, m.value, m.ttlSec) };
      case "incr":
        return { value: await cache.incr(m.key, m.amount) };
      case "delete":
        return { value: await cache.delete(m.key) };
    }
  } catch (err) {
    const code: CacheErrorCode = err instanceof CacheError ? err.code : "protocol";
    return { error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

/** A worker's view of the supervisor's cache (`call` sends one operation and resolves its reply). */
export class ThreadCache implements Cache {
  private closed = false;

  constructor(private readonly call: (op: CacheOp) => Promise<CacheReply>) {}

  async get(key: string): Promise<string | null> {
    return (await this.run({ op: "get", key })) as string | null;
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return new Map((await this.run({ op: "getMany", keys: [...keys] })) as Array<[string, string]>);
  }

  async set(key: string, value: string, ttlSec?: number): Promise<void> {
    await this.run(ttlSec === undefined ? { op: "set", key, value } : { op: "set", key, value, ttlSec });
  }

  async add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    return (await this.run(ttlSec === undefined ? { op: "add", key, value } : { op: "add", key, value, ttlSec })) as boolean;
  }

  async incr(key: string, amount: number): Promise<number | null> {
    return (await this.run({ op: "incr", key, amount })) as number | null;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run({ op: "delete", key })) as boolean;
  }

  /** This worker stops using the cache (it belongs to the supervisor and lives on); later calls reject. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private async run(op: CacheOp): Promise<CacheValue> {
    if (this.closed) throw new CacheError("unreachable", "cache closed");
    let reply: CacheReply;
    try {
      reply = await this.call(op);
    } catch (err) {
      if (err instanceof RpcError && err.code === "timeout") throw new CacheError("timeout", err.message, { cause: err });
      throw new CacheError("unreachable", err instanceof Error ? err.message : String(err), { cause: err });
    }
    if (reply.error) throw new CacheError(reply.error.code, reply.error.message);
    return reply.value;
  }
}
