/**
 * One WebSocket client connection over a raw `net` socket: RFC 6455 handshake, masked frames out,
 * incremental frame parsing in, close handshake, and the dialect (plain ws or socket.io) on top.
 *
 * Memory: no closures per connection. Socket listeners are shared functions that find the
 * connection through a symbol on the socket; reads go into a buffer shared by every connection of
 * the process (`onread`), copied only when a frame spans two reads. Events go to one `LeanEvents`
 * object per process. `closed` is delivered exactly once per `connect`.
 * Bytes received are counted per connection (`rxBytes`: everything the socket read, WebSocket
 * headers included). With permessage-deflate negotiated, compressed messages are inflated by a
 * MessageInflater (synchronously without context takeover, asynchronously but in order with it).
 */
import net from "node:net";
import { clientSocket } from "./capped-socket.ts";
import type { Dialect } from "./dialect.ts";
import { FrameParser, type FrameSink } from "./frame-parser.ts";
import { newHandshakeKey, parseUpgradeResponse, upgradeRequest, type Offer } from "./handshake.ts";
import { MessageInflater } from "./message-inflater.ts";
import { encodeClose, encodeMaskedFrame, encodeText, OPCODE } from "./ws-frame.ts";

export interface LeanEvents {
  /** The protocol layer is usable (after the upgrade; for socket.io after its connect ack). */
  open(c: LeanConnection): void;
  /** A protocol message (JSON text, or a v2 binary frame when `binary`): bytes [start, end) of `data`,
   *  valid only during the call; `c.messageWireBytes` is its size on the wire. */
  message(c: LeanConnection, data: Buffer, start: number, end: number, binary: boolean): void;
  /** The connection ended. `code` is the WebSocket close code (1006 when it just dropped). */
  closed(c: LeanConnection, code: number, reason: string, error: string | undefined): void;
}

export interface Target {
  host: string;
  port: number;
  path: string;
}

export interface ConnectOptions {
  localAddress?: string;
  /** SO_SNDBUF request in bytes (0 = leave the kernel default and autotuning). */
  sndbuf: number;
  /** Shared read buffer for every connection of the process. */
  readBuffer: Buffer;
  /** Subprotocol (v2) and permessage-deflate offers. */
  offer?: Offer;
}

export type ConnState = "idle" | "connecting" | "handshake" | "open" | "closing" | "closed";

const CONN = Symbol("leanConnection");
type TaggedSocket = net.Socket & { [CONN]: LeanConnection };

export class LeanConnection implements FrameSink {
  state: ConnState = "idle";
  socket: net.Socket | null = null;
  /** Effective SO_SNDBUF when it was capped, 0 otherwise. */
  sndbuf = 0;
  private key = "";
  private head: Buffer | null = null;
  private parser: FrameParser | null = null;
  private closeSent = false;
  private closeCode = 1006;
  private closeReason = "";
  private error: string | undefined;
  private target: Target | null = null;
  private offer: Offer = {};
  /** Set when permessage-deflate was negotiated. */
  private inflater: MessageInflater | null = null;
  /** Bytes read from the socket since connect (handshake and frame headers included). */
  rxBytes = 0;
  /** Messages that were compressed (permessage-deflate). */
  compressedMessages = 0;

  constructor(
    readonly id: number,
    private readonly events: LeanEvents,
    readonly dialect: Dialect,
  ) {}

  connect(target: Target, opts: ConnectOptions): void {
    if (this.state !== "idle" && this.state !== "closed") throw new Error(`connect() in state ${this.state}`);
    this.reset();
    this.key = newHandshakeKey();
    this.target = target;
    this.offer = opts.offer ?? {};
    const made = clientSocket(opts, { buffer: opts.readBuffer, callback: onRead });
    if (!made.ok) {
      this.state = "closed";
      this.events.closed(this, 1006, "", made.code);
      return;
    }
    const socket = made.socket;
    this.sndbuf = made.sndbuf;
    (socket as TaggedSocket)[CONN] = this;
    this.socket = socket;
    this.state = "connecting";
    socket.on("connect", onConnect);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.setNoDelay(true);
    const alreadyBound = this.sndbuf > 0;
    socket.connect({
      host: target.host,
      port: target.port,
      ...(opts.localAddress !== undefined && !alreadyBound ? { localAddress: opts.localAddress } : {}),
    });
  }

  /** Sends one protocol message (JSON text), wrapped by the dialect. False when the socket is gone. */
  send(type: string, json: string): boolean {
    return this.writeRaw(encodeText(this.dialect.wrap(type, json)));
  }

  /** Writes pre-encoded masked frames. Returns false if not open; `true` even when Node buffered. */
  writeRaw(frames: Buffer, cb?: (err?: Error | null) => void): boolean {
    if (this.state !== "open" || this.socket === null) return false;
    if (cb) this.socket.write(frames, cb);
    else this.socket.write(frames);
    return true;
  }

  /** Bytes queued in Node (not yet accepted by the kernel). */
  get queuedBytes(): number {
    return this.socket === null ? 0 : this.socket.writableLength;
  }

  /** Starts the close handshake (or just drops the TCP connection if not open yet). */
  close(code = 1000, reason = ""): void {
    if (this.socket === null || this.state === "closed") return;
    if (this.state === "open" && !this.closeSent) {
      this.closeSent = true;
      this.state = "closing";
      this.socket.write(encodeClose(code, reason));
    } else if (this.state !== "closing") {
      this.socket.destroy();
    }
  }

  /** Drops the TCP connection at once. */
  destroy(): void {
    this.socket?.destroy();
  }

  // ------------------------------------------------------------------ FrameSink

  /** Size on the wire of the message being delivered (during `message` only). */
  get messageWireBytes(): number {
    return this.inflatedWireBytes >= 0 ? this.inflatedWireBytes : (this.parser?.messageWireBytes ?? 0);
  }

  onBinary(data: Buffer, start: number, end: number): void {
    if (this.parser?.compressed === true) return this.inflate(data, start, end, true);
    this.events.message(this, data, start, end, true);
  }

  onText(data: Buffer, start: number, end: number): void {
    if (this.parser?.compressed === true) return this.inflate(data, start, end, false);
    this.text(data, start, end);
  }

  private text(data: Buffer, start: number, end: number): void {
    const inc = this.dialect.classify(data, start, end);
    switch (inc.kind) {
      case "message":
        this.events.message(this, data, inc.start, inc.end, false);
        return;
      case "reply":
        this.socket?.write(encodeText(inc.text));
        return;
      case "opened":
        this.events.open(this);
        return;
      case "closed":
        this.closeCode = 1000;
        this.closeReason = inc.reason;
        this.close(1000);
        return;
      case "ignore":
        return;
    }
  }

  /** Inflates one compressed message and delivers it (in order, maybe asynchronously). */
  private inflate(data: Buffer, start: number, end: number, binary: boolean): void {
    this.compressedMessages++;
    const wire = this.messageWireBytes;
    const inflater = this.inflater;
    if (inflater === null) return this.onProtocolError("compressed message without permessage-deflate");
    inflater.inflate(data.subarray(start, end), (plain) => {
      if (inflater === this.inflater) this.deliverInflated(plain, binary, wire);
    });
  }

  /** Size on the wire of an inflated message being delivered (the parser has moved on when async). */
  private inflatedWireBytes = -1;

  private deliverInflated(plain: Buffer, binary: boolean, wireBytes: number): void {
    this.inflatedWireBytes = wireBytes;
    try {
      if (binary) this.events.message(this, plain, 0, plain.length, true);
      else this.text(plain, 0, plain.length);
    } finally {
      this.inflatedWireBytes = -1;
    }
  }

  onClose(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.closeSent && this.socket !== null) {
      this.closeSent = true;
      // Echo the status code (RFC 6455 5.5.1); 1005 means none was given and must not be sent.
      this.socket.write(code === 1005 ? encodeMaskedFrame(OPCODE.close, Buffer.alloc(0)) : encodeClose(code));
    }
    this.state = "closing";
    this.socket?.end();
  }

  onPing(payload: Buffer): void {
    if (this.state === "open") this.socket?.write(encodeMaskedFrame(OPCODE.pong, payload));
  }

  onProtocolError(message: string): void {
    this.error = `protocol: ${message}`;
    this.closeCode = 1002;
    if (this.socket !== null && !this.closeSent && this.state === "open") {
      this.closeSent = true;
      this.socket.write(encodeClose(1002));
    }
    this.socket?.end();
  }

  // ------------------------------------------------------------------ socket events (via shared listeners)

  /** @internal */ handleConnect(): void {
    if (this.socket === null || this.target === null) return;
    this.state = "handshake";
    const t = this.target;
    this.socket.write(upgradeRequest(`${t.host}:${t.port}`, this.dialect.path(t.path), this.key, this.offer));
  }

  /** @internal */ handleData(buf: Buffer, n: number): void {
    this.rxBytes += n;
    if (this.state === "handshake") {
      const head = this.head === null ? Buffer.from(buf.subarray(0, n)) : Buffer.concat([this.head, buf.subarray(0, n)]);
      const r = parseUpgradeResponse(head, this.key, this.offer);
      if (r.kind === "incomplete") {
        this.head = head;
        return;
      }
      this.head = null;
      if (r.kind === "rejected") {
        this.error = `handshake: ${r.message}`;
        this.socket?.destroy();
        return;
      }
      this.state = "open";
      this.parser = new FrameParser(this);
      this.parser.allowBinary = this.offer.subprotocol !== undefined;
      this.parser.allowCompressed = r.deflate !== "off";
      this.inflater = r.deflate === "off" ? null : new MessageInflater(r.deflate, (m) => this.onProtocolError(m));
      if (this.dialect.openOnUpgrade) this.events.open(this);
      if (r.bodyStart < head.length && this.state === "open") this.parser.feed(head, r.bodyStart, head.length);
      return;
    }
    if (this.parser !== null) this.parser.feed(buf, 0, n);
  }

  /** @internal */ handleError(err: Error & { code?: string }): void {
    this.error ??= err.code ?? err.message;
  }

  /** @internal */ handleClose(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.parser = null;
    this.head = null;
    this.inflater?.close();
    this.inflater = null;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) (socket as Partial<TaggedSocket>)[CONN] = undefined as unknown as LeanConnection;
    this.events.closed(this, this.closeCode, this.closeReason, this.error);
  }

  private reset(): void {
    this.closeSent = false;
    this.closeCode = 1006;
    this.closeReason = "";
    this.error = undefined;
    this.head = null;
    this.parser = null;
    this.sndbuf = 0;
    this.rxBytes = 0;
    this.compressedMessages = 0;
    this.inflater = null;
  }
}

function conn(s: unknown): LeanConnection | undefined {
  return (s as Partial<TaggedSocket>)[CONN];
}
function onConnect(this: net.Socket): void {
  conn(this)?.handleConnect();
}
function onRead(this: net.Socket, n: number, buf: Buffer): boolean {
  conn(this)?.handleData(buf, n);
  return true;
}
function onError(this: net.Socket, err: Error): void {
  conn(this)?.handleError(err);
}
function onClose(this: net.Socket): void {
  conn(this)?.handleClose();
}
