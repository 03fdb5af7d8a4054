/**
 * The seal of an export: a SHA-256 digest and, with a key, an HMAC-SHA256 of every byte of the
 * body written before the seal line, which is the body's last line. The digest of a streamed body
 * is known only at its end, so it travels in the body (headers name the algorithm): anyone can
 * check the file alone with sha256sum/openssl (docs/operations.md).
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";

export interface Seal {
  sha256: string;
  /** null when no EXPORT_SIGNING_KEY is configured (the export is unsigned). */
  hmacSha256: string | null;
}

export class SealedBody {
  private readonly hash: Hash = createHash("sha256");
  private readonly hmac: Hmac | null;
  private sealed = false;
  bytes = 0;

  constructor(signingKey: string | undefined) {
    this.hmac = signingKey === undefined ? null : createHmac("sha256", Buffer.from(signingKey, "utf8"));
  }

  /** Account a chunk about to be sent; returns it. */
  add(chunk: string): string {
    if (this.sealed) throw new Error("export body already sealed");
    const buf = Buffer.from(chunk, "utf8");
    this.hash.update(buf);
    this.hmac?.update(buf);
    this.bytes += buf.byteLength;
    return chunk;
  }

  seal(): Seal {
    this.sealed = true;
    return { sha256: this.hash.digest("hex"), hmacSha256: this.hmac ? this.hmac.digest("hex") : null };
  }
}
