/**
 * The seal of an export: the SHA-256 digest of every byte of the body written before the seal line
 * (the body's last line) and, with a signing key, the Ed25519 signature of that digest and the key's
 * fingerprint (export-signer.ts). The digest of a streamed body is known only at its end, so the
 * seal travels as the body's last line: `sed '$d'` gives exactly the bytes it covers.
 */
import { createHash, type Hash } from "node:crypto";
import type { ExportSigner } from "./export-signer.ts";

export interface Seal {
  sha256: string;
  /** Base64 Ed25519 signature of the 32-byte digest; null when no signing key is configured. */
  ed25519: string | null;
  /** Fingerprint of the signing key (`SHA256:<hex>`); null when unsigned. */
  key: string | null;
}

export class SealedBody {
  private readonly hash: Hash = createHash("sha256");
  private sealed = false;
  bytes = 0;

  constructor(private readonly signer: ExportSigner | null) {}

  /** Account a chunk about to be sent; returns it. */
  add(chunk: string): string {
    if (this.sealed) throw new Error("export body already sealed");
    const buf = Buffer.from(chunk, "utf8");
    this.hash.update(buf);
    this.bytes += buf.byteLength;
    return chunk;
  }

  seal(): Seal {
    this.sealed = true;
    const digest = this.hash.digest();
    if (this.signer === null) return { sha256: digest.toString("hex"), ed25519: null, key: null };
    return { sha256: digest.toString("hex"), ed25519: this.signer.signDigest(digest), key: this.signer.fingerprint };
  }
}
