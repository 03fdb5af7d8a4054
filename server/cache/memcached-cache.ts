/**
 * Cache over one or more memcached servers (memjs 1.3.2 connections, binary protocol).
 *
 * memjs 1.3.2 has four traps for a counter store; how each is handled here (memjs-traps.test.ts shows
 * each one on a bare memjs client, then that this class avoids it):
 * - Increment of a missing key: memjs's `increment` creates the key with `initial`. We send our own
 *   INCREMENT with expiration 0xffffffff, which the binary protocol defines as "fail with NOT_FOUND
 *   if the key is missing": the server never creates the key and `incr` resolves null.
 * - Double application: no request is ever resent (memjs `retries: 1`, no failover). A "timeout"
 *   rejection means the operation may have been applied once, never twice. Reads are not retried
 *   either; callers retry at their own cadence.
 * - Values >= 2^32: memjs combines the two halves of the 64-bit result wrongly. We read the
 *   response as an unsigned 64-bit integer ourselves (and send `amount` as 64 bits, memjs only
 *   sends 32), so counters are exact up to 2^53-1; above that `incr` rejects "bad_value" (the
 *   server has applied it). Stored counters padded with spaces by memcached read back trimmed.
 * - Console logging: memjs gets a logger that forwards to `onLog` (default: dropped, since every
 *   memjs log line accompanies an error that is also rejected as a CacheError).
 *
 * Several servers: each key lives on exactly one server, chosen by the consistent hash ring in
 * hash-ring.ts (ketama-style, placement independent of the order of `servers`). If that server is
 * down, operations on its keys reject; keys never fail over to another server.
 *
 * Guarantees: operations on keys of one server are applied in call order. Timeouts are per request
 * (default 500 ms), so a stopped or hung memcached is reported within about that time.
 */
import { CacheError, type Cache } from "./cache.ts";
import { MemjsTransport, parseServers, type MemjsResponse } from "./memjs-transport.ts";
import { checkAmount, checkKey, checkTtl, checkValue, counterToNumber, normalizeStored } from "./validate.ts";

export interface MemcachedCacheOptions {
  /** "host:port,host:port" (MEMCACHED_SERVERS syntax) or a list; the port defaults to 11211. */
  servers: string | readonly string[];
  /** Per-request timeout in ms (default 500). */
  timeoutMs?: number;
  /** Connect timeout in ms (default 1000). */
  connectTimeoutMs?: number;
  /** TCP keep-alive on the sockets (default true). */
  keepAlive?: boolean;
  /** Receives memjs's diagnostic lines (default: dropped). Never called with console. */
  onLog?: (message: string) => void;
}

const OP = { get: 0x00, set: 0x01, add: 0x02, delete: 0x04, increment: 0x05 } as const;
const STATUS = { ok: 0x00, notFound: 0x01, exists: 0x02, tooLarge: 0x03, invalid: 0x04, notStored: 0x05, nonNumeric: 0x06 } as const;
const EMPTY = Buffer.alloc(0);
/** memcached reads an expiration above 30 days as an absolute unix time. */
const MAX_RELATIVE_TTL = 60 * 60 * 24 * 30;
/** Binary protocol: an increment with this expiration fails on a missing key instead of creating it. */
const NO_CREATE = 0xffffffff;

export class MemcachedCache implements Cache {
  /** Normalized "host:port" addresses, in the order given. */
  readonly servers: readonly string[];
  private readonly transport: MemjsTransport;

  constructor(options: MemcachedCacheOptions) {
    this.servers = parseServers(options.servers);
    const timeoutMs = options.timeoutMs ?? 500;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    this.transport = new MemjsTransport({
      servers: this.servers,
      timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      keepAlive: options.keepAlive ?? true,
      onLog: options.onLog ?? (() => {}),
    });
  }

  /** One key per server: `base` with one server, else `base:<i>` with the least i the ring places on each. */
  spread(base: string): string[] {
    const n = this.servers.length;
    if (n === 1) return [base];
    const keys: Array<string | undefined> = new Array<string | undefined>(n);
    let found = 0;
    for (let i = 0; found < n; i++) {
      if (i > 100_000) throw new RangeError(`no key of ${base} lands on every server`);
      const key = `${base}:${i}`;
      const owner = this.transport.ring.lookup(key);
      if (keys[owner] === undefined) {
        keys[owner] = key;
        found++;
      }
    }
    return keys as string[];
  }

  /** `base` with one server, else `base:<i>` with the least i the ring places on `key`'s server. */
  beside(key: string, base: string): string {
    if (this.servers.length === 1) return base;
    const owner = this.transport.ring.lookup(key);
    for (let i = 0; i <= 100_000; i++) {
      const candidate = `${base}:${i}`;
      if (this.transport.ring.lookup(candidate) === owner) return candidate;
    }
    throw new RangeError(`no key of ${base} lands beside ${key}`);
  }

  async get(key: string): Promise<string | null> {
    checkKey(key);
    const res = await this.transport.request(key, OP.get, EMPTY, EMPTY);
    if (res.header.status === STATUS.ok) return normalizeStored(res.val.toString("utf8"));
    if (res.header.status === STATUS.notFound) return null;
    throw statusError("get", key, res);
  }

  /**
   * memjs has no multi-get: one GET per distinct key, all sent at once (pipelined on each server's
   * socket). Rejects with the first error if any of them fails.
   */
  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(keys)];
    unique.forEach(checkKey);
    const values = await Promise.all(unique.map((key) => this.get(key)));
    const found = new Map<string, string>();
    unique.forEach((key, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) found.set(key, value);
    });
    return found;
  }

  async set(key: string, value: string, ttlSec?: number): Promise<void> {
    const res = await this.store(OP.set, key, value, ttlSec);
    if (res.header.status !== STATUS.ok) throw statusError("set", key, res);
  }

  async add(key: string, value: string, ttlSec?: number): Promise<boolean> {
    const res = await this.store(OP.add, key, value, ttlSec);
    if (res.header.status === STATUS.ok) return true;
    if (res.header.status === STATUS.exists || res.header.status === STATUS.notStored) return false;
    throw statusError("add", key, res);
  }

  async incr(key: string, amount: number): Promise<number | null> {
    checkKey(key);
    checkAmount(amount);
    const extras = Buffer.alloc(20);
    extras.writeBigUInt64BE(BigInt(amount), 0); // delta
    extras.writeBigUInt64BE(0n, 8); // initial (unused: NO_CREATE)
    extras.writeUInt32BE(NO_CREATE, 16);
    const res = await this.transport.request(key, OP.increment, extras, EMPTY);
    if (res.header.status === STATUS.notFound) return null;
    if (res.header.status !== STATUS.ok) throw statusError("incr", key, res);
    if (res.val.length !== 8) throw new CacheError("protocol", `incr ${key}: expected an 8-byte counter, got ${res.val.length} bytes`);
    return counterToNumber(res.val.readBigUInt64BE(0), key);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    const res = await this.transport.request(key, OP.delete, EMPTY, EMPTY);
    if (res.header.status === STATUS.ok) return true;
    if (res.header.status === STATUS.notFound) return false;
    throw statusError("delete", key, res);
  }

  /** Pending operations reject with CacheError("unreachable"); later ones too. Idempotent. */
  async close(): Promise<void> {
    this.transport.close();
  }

  private store(opcode: number, key: string, value: string, ttlSec: number | undefined): Promise<MemjsResponse> {
    checkKey(key);
    checkValue(value);
    const ttl = checkTtl(ttlSec);
    const extras = Buffer.alloc(8); // flags (0), expiration
    extras.writeUInt32BE(ttl > MAX_RELATIVE_TTL ? Math.floor(Date.now() / 1000) + ttl : ttl, 4);
    return this.transport.request(key, opcode, extras, Buffer.from(value, "utf8"));
  }
}

function statusError(op: string, key: string, res: MemjsResponse): CacheError {
  const status = res.header.status;
  const detail = res.val.length > 0 && res.val.length < 200 ? `: ${res.val.toString("utf8")}` : "";
  const code = status === STATUS.tooLarge || status === STATUS.invalid || status === STATUS.nonNumeric ? "bad_value" : "protocol";
  return new CacheError(code, `memcached ${op} ${key}: status 0x${status.toString(16)}${detail}`);
}
