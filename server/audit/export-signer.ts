/**
 * The export's signing key: an Ed25519 private key (PKCS#8 PEM, as `openssl genpkey -algorithm
 * ed25519` writes it) read from EXPORT_SIGNING_KEY_FILE. Whoever verifies gets only the public key
 * (GET /api/export-key, SPKI PEM), so a verifier can check a seal but can never make one.
 *
 * What is signed: the 32 bytes of the SHA-256 digest of every byte of the body before the seal line
 * (Ed25519 over the digest, because the body streams and is never held in memory whole). The digest
 * binds every byte, so the signature does too; `openssl pkeyutl -verify -rawin` checks it
 * (docs/operations.md). The key's fingerprint is `SHA256:` + hex SHA-256 of the public key's SPKI DER
 * (`openssl pkey -pubin -outform DER | sha256sum`), so a seal names the key that made it.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

export class ExportSigner {
  /** SPKI PEM of the public key (what GET /api/export-key serves). */
  readonly publicPem: string;
  /** `SHA256:` + hex SHA-256 of the public key's SPKI DER. */
  readonly fingerprint: string;

  private constructor(private readonly key: KeyObject) {
    const pub = createPublicKey(key);
    this.publicPem = pub.export({ type: "spki", format: "pem" }).toString();
    this.fingerprint = keyFingerprint(pub);
  }

  /** Parse a PKCS#8 PEM Ed25519 private key; throws SigningKeyError naming what is wrong. */
  static fromPem(pem: string): ExportSigner {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: "pem" });
    } catch (err) {
      throw new SigningKeyError(`not a PEM private key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== "ed25519")
      throw new SigningKeyError(`an ed25519 key is required, this one is ${String(key.asymmetricKeyType)}`);
    return new ExportSigner(key);
  }

  static fromFile(path: string): ExportSigner {
    let pem: string;
    try {
      pem = readFileSync(path, "utf8");
    } catch (err) {
      throw new SigningKeyError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return ExportSigner.fromPem(pem);
  }

  /** Ed25519 signature (base64) of a 32-byte SHA-256 digest. */
  signDigest(digest: Buffer): string {
    if (digest.byteLength !== 32) throw new Error("signDigest takes a 32-byte SHA-256 digest");
    return sign(null, digest, this.key).toString("base64");
  }
}

/** `SHA256:` + hex SHA-256 of a public key's SPKI DER. */
export function keyFingerprint(pub: KeyObject): string {
  return (
    "SHA256:" +
    createHash("sha256")
      .update(pub.export({ type: "spki", format: "der" }))
      .digest("hex")
  );
}
