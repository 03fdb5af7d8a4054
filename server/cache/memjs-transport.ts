/**
 * Binary-protocol requests to memcached over memjs 1.3.2's connections: memjs supplies sockets,
 * pipelining and per-request timeouts; this file supplies server choice, request encoding, error
 * typing and fixes for memjs's connection bugs. Depends on memjs internals (Client#perform and
 * Server fields) of the exact pinned version; memcached-cache.test.ts exercises every one of them.
 *
 * Guarantees:
 * - A request is written at most once: memjs retries are off (`retries: 1`), failover is off (a key
 *   never moves to another server behind the caller's back, which would fork a counter). A request
 *   that fails with "timeout" may or may not have been applied; it is never applied twice.
 * - Every failure rejects with a CacheError ("timeout" | "unreachable"); memjs's log lines go to
 *   `onLog`, never to the console, and each accompanies an error that is also rejected.
 * - Requests to one server are answered in the order they were written (one socket per server).
 */
import { Client } from "memjs";
import type { Socket } from "node:net";
import { CacheError } from "./cache.ts";
import { HashRing } from "./hash-ring.ts";

export interface MemjsResponse {
  header: { status: number; opcode: number; opaque: number };
  extras: Buffer;
  val: Buffer;
}

export interface MemjsTransportOptions {
  /** Normalized "host:port" addresses (see parseServers). */
  servers: readonly string[];
  timeoutMs: number;
  connectTimeoutMs: number;
  keepAlive: boolean;
  onLog: (message: string) => void;
}

/** The memjs 1.3.2 Server fields and methods relied on below (node_modules/memjs/lib/memjs/server.js). */
interface ServerInternals {
  host: string;
  port: number;
  _socket: Socket | undefined;
  connected: boolean;
  timeoutSet: boolean;
  responseBuffer: Buffer;
  errorCallbacks: Record<string, unknown>;
  sock(sasl: boolean, go: (socket: Socket) => void): void;
  error(err: Error): void;
}

/** Parses "h1:11211,h2" (or a list) into unique "host:port" addresses; the port defaults to 11211. */
export function parseServers(servers: string | readonly string[]): string[] {
  const list = (typeof servers === "string" ? servers.split(",") : [...servers]).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new RangeError("no memcached servers given");
  const parsed = list.map((s) => {
    const m = /^([^:@\s]+)(?::(\d{1,5}))?$/.exec(s);
    if (m === null) throw new RangeError(`bad memcached server address ${JSON.stringify(s)} (want host:port)`);
    return `${m[1]}:${m[2] ?? "11211"}`;
  });
  return [...new Set(parsed)];
}

export class MemjsTransport {
  readonly ring: HashRing;
  private readonly client: Client;
  private readonly servers: ServerInternals[];
  private opaque = 0;
  private closed = false;

  constructor(options: MemjsTransportOptions) {
    this.ring = new HashRing(options.servers);
    const onLog = options.onLog;
    this.client = Client.create(options.servers.join(","), {
      retries: 1, // memjs counts attempts: 1 = never resend (a resent increment is applied twice)
      retry_delay: 0,
      failover: false,
      timeout: options.timeoutMs / 1000,
      conntimeout: options.connectTimeoutMs / 1000,
      keepAlive: options.keepAlive,
      logger: { log: (...args: unknown[]) => onLog(args.map(String).join(" ")) },
    });
    // memjs picks `servers[getServer(key)]`; its list is in the same order as ours.
    (this.client as unknown as { getServer: (key: string) => number }).getServer = (key) => this.ring.lookup(key);
    this.servers = this.client.servers.map((s) => {
      const server = s as unknown as ServerInternals;
      hardenServer(server);
      return server;
    });
  }

  /** Sends one request to the server owning `key` and resolves its response (any status). */
  request(key: string, opcode: number, extras: Buffer, value: Buffer): Promise<MemjsResponse> {
    if (this.closed) return Promise.reject(new CacheError("unreachable", "cache closed"));
    // Our own opaque counter: memjs's `seq &= 0xffffffff` turns negative after 2^31 requests.
    this.opaque = this.opaque >= 0xffffffff ? 1 : this.opaque + 1;
    const opaque = this.opaque;
    const packet = encodeRequest(opcode, Buffer.from(key, "utf8"), extras, value, opaque);
    return new Promise((resolve, reject) => {
      this.client.perform(
        key,
        packet,
        opaque,
        (err: Error | null, response?: MemjsResponse) => {
          if (err !== null) reject(toCacheError(err, this.ring.serverFor(key)));
          else if (response === undefined) reject(new CacheError("protocol", "memjs returned no response"));
          else resolve(response);
        },
        1,
      );
    });
  }

  /** Fails every pending request (CacheError "unreachable") and destroys every socket. Idempotent. */
  close(): void {
    this.closed = true;
    for (const server of this.servers) server.error(new Error("cache closed"));
  }
}

/**
 * Fixes three memjs 1.3.2 connection bugs, per server:
 * 1. A socket that timed out is only `end()`ed and forgotten; when it finally closes its 'close'
 *    handler clears `_socket` even if that now points at a newer socket, orphaning it (an fd leak
 *    that also keeps the process alive). Here every socket is tracked, destroyed on any error, and
 *    only the current socket's close resets the server.
 * 2. When the server closes the connection without an error (memcached stopped gracefully), pending
 *    requests were never failed. Here they fail at once with "connection closed by server".
 * 3. `responseBuffer` kept a partial response across reconnects, misaligning every later response.
 */
function hardenServer(server: ServerInternals): void {
  const sockets = new Set<Socket>();
  // Both are called with .call(server) below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const originalSock = server.sock;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const originalError = server.error;
  const adopt = (socket: Socket): void => {
    sockets.add(socket);
    socket.removeAllListeners("close"); // memjs's handler (bug 1); a fresh net.Socket has no others
    socket.on("close", () => {
      sockets.delete(socket);
      if (server._socket !== socket) return;
      server._socket = undefined;
      server.connected = false;
      server.timeoutSet = false;
      if (Object.keys(server.errorCallbacks).length > 0) server.error(new Error("connection closed by server"));
    });
  };
  server.sock = function sock(sasl, go) {
    const before = server._socket;
    originalSock.call(server, sasl, go);
    const current = server._socket;
    if (current !== undefined && current !== before) adopt(current);
  };
  server.error = function error(err) {
    for (const socket of sockets) if (socket !== server._socket) socket.destroy();
    server.responseBuffer = Buffer.alloc(0);
    originalError.call(server, err); // destroys the current socket, fails every pending request
  };
}

/** A binary-protocol request header (24 bytes) followed by extras, key and value. */
function encodeRequest(opcode: number, key: Buffer, extras: Buffer, value: Buffer, opaque: number): Buffer {
  const packet = Buffer.alloc(24 + extras.length + key.length + value.length);
  packet[0] = 0x80;
  packet[1] = opcode;
  packet.writeUInt16BE(key.length, 2);
  packet[4] = extras.length;
  packet.writeUInt32BE(extras.length + key.length + value.length, 8);
  packet.writeUInt32BE(opaque, 12);
  extras.copy(packet, 24);
  key.copy(packet, 24 + extras.length);
  value.copy(packet, 24 + extras.length + key.length);
  return packet;
}

function toCacheError(err: unknown, server: string): CacheError {
  const message = err instanceof Error ? err.message : String(err);
  const code = /timed out/i.test(message) ? "timeout" : "unreachable";
  return new CacheError(code, `memcached ${server}: ${message}`, { cause: err });
}
