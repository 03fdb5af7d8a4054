/**
 * The receiving half of permessage-deflate (RFC 7692) for one connection.
 *
 * Guarantees: messages come out in the order they went in. Without context takeover
 * (server_no_context_takeover, what uWS's SHARED_COMPRESSOR negotiates) each message is inflated on
 * its own, synchronously, inside `inflate`. With context takeover one zlib stream carries the
 * connection's dictionary and its output arrives asynchronously. A corrupt message is reported once
 * through `onError`; nothing is delivered for it.
 */
import zlib from "node:zlib";

/** RFC 7692 7.2.2: the sender strips this tail from every message; the receiver appends it back. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export type DeflateMode = "no-context" | "context";

export class MessageInflater {
  private stream: zlib.InflateRaw | null = null;
  private chunks: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly mode: DeflateMode,
    private readonly onError: (message: string) => void,
  ) {}

  /** Inflates one compressed message payload; `deliver` gets its plain bytes (not after `close`). */
  inflate(payload: Buffer, deliver: (plain: Buffer) => void): void {
    const input = Buffer.concat([payload, DEFLATE_TAIL]);
    if (this.mode === "no-context") {
      let plain: Buffer;
      try {
        plain = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (err) {
        return this.onError(`inflate failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      return deliver(plain);
    }
    const stream = this.contextStream();
    stream.write(input);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      if (this.closed) return;
      const plain = Buffer.concat(this.chunks);
      this.chunks = [];
      deliver(plain);
    });
  }

  /** Frees the zlib stream; nothing is delivered afterwards. */
  close(): void {
    this.closed = true;
    this.stream?.close();
    this.stream = null;
    this.chunks = [];
  }

  private contextStream(): zlib.InflateRaw {
    if (this.stream !== null) return this.stream;
    const s = zlib.createInflateRaw();
    s.on("data", (chunk: Buffer) => this.chunks.push(chunk));
    s.on("error", (err) => this.onError(`inflate failed: ${err.message}`));
    this.stream = s;
    return s;
  }
}
