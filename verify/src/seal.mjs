// @ts-check
/**
 * The seal of a buzzcast export (its last line) and its check: the SHA-256 of every byte before
 * the seal line must equal the seal's digest, the seal must name the given public key
 * (fingerprint `SHA256:` + hex SHA-256 of the key's SPKI DER), and the Ed25519 signature of the
 * 32-byte digest must verify under that key. Only node:crypto does cryptography here.
 */
import { createHash, createPublicKey, verify } from "node:crypto";

export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * An Ed25519 public key from PEM (SPKI), with its fingerprint.
 * @param {string} pem
 * @returns {{ key: import("node:crypto").KeyObject, fingerprint: string }}
 */
export function loadPublicKey(pem) {
  let key;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new UsageError(`--key: not a PEM public key (${err instanceof Error ? err.message : String(err)})`);
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new UsageError(`--key: an Ed25519 public key is required, this is ${String(key.asymmetricKeyType)}`);
  return { key, fingerprint: fingerprintOf(key) };
}

/** @param {import("node:crypto").KeyObject} key */
export function fingerprintOf(key) {
  return (
    "SHA256:" +
    createHash("sha256")
      .update(key.export({ type: "spki", format: "der" }))
      .digest("hex")
  );
}

/**
 * Split an export into the body the seal covers and the seal line's text.
 * @param {Buffer} bytes
 * @returns {{ body: Buffer, seal: string } | { error: string }}
 */
export function splitSeal(bytes) {
  if (bytes.length === 0) return { error: "the file is empty" };
  if (bytes[bytes.length - 1] !== 0x0a) return { error: "the file does not end with a line break: it was cut short (no seal)" };
  const cut = bytes.lastIndexOf(0x0a, bytes.length - 2);
  if (cut < 0) return { error: "the file has a single line: no body under the seal" };
  return { body: bytes.subarray(0, cut + 1), seal: bytes.subarray(cut + 1, bytes.length - 1).toString("utf8") };
}

/**
 * @typedef {{ sha256: string, ed25519: string | null, key: string | null }} Seal
 */

/**
 * Parse the seal line of a CSV (`#seal,...`) or JSON Lines (`{"type":"seal",...}`) export.
 * @param {string} line
 * @param {"csv" | "json"} format
 * @returns {{ seal: Seal } | { error: string }}
 */
export function parseSeal(line, format) {
  const hmac =
    "an HMAC seal (buzzcast-export/1): whoever can check an HMAC can also forge it, so it proves nothing to a third party; ask for an export signed with Ed25519";
  if (format === "csv") {
    if (/^#sha256=[0-9a-f]*,hmac-sha256=/.test(line)) return { error: hmac };
    if (!line.startsWith("#seal,")) return { error: "the last line is not a seal: the file was cut short or its seal removed" };
    /** @type {Record<string, string>} */
    const kv = {};
    for (const part of line.slice("#seal,".length).split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) return { error: `malformed seal field ${JSON.stringify(part)}` };
      kv[part.slice(0, eq)] = part.slice(eq + 1);
    }
    const sha256 = kv.sha256;
    if (sha256 === undefined || kv.ed25519 === undefined || kv.key === undefined) return { error: "the seal lacks sha256, ed25519 or key" };
    return { seal: { sha256, ed25519: kv.ed25519 === "none" ? null : kv.ed25519, key: kv.key === "none" ? null : kv.key } };
  }
  /** @type {unknown} */
  let obj;
  try {
    obj = JSON.parse(line);
  } catch {
    return { error: "the last line is not a seal: the file was cut short or its seal removed" };
  }
  if (typeof obj !== "object" || obj === null || /** @type {{type?: unknown}} */ (obj).type !== "seal")
    return { error: "the last line is not a seal: the file was cut short or its seal removed" };
  const o = /** @type {{ sha256?: unknown, ed25519?: unknown, key?: unknown, hmacSha256?: unknown }} */ (obj);
  if (o.hmacSha256 !== undefined) return { error: hmac };
  if (typeof o.sha256 !== "string") return { error: "the seal lacks sha256" };
  const str = (/** @type {unknown} */ v) => (typeof v === "string" ? v : null);
  return { seal: { sha256: o.sha256, ed25519: str(o.ed25519), key: str(o.key) } };
}

/**
 * Check a seal against the body and the public key. Returns null when it holds, else why not.
 * @param {Buffer} body
 * @param {Seal} seal
 * @param {{ key: import("node:crypto").KeyObject, fingerprint: string }} pub
 * @returns {string | null}
 */
export function checkSeal(body, seal, pub) {
  const digest = createHash("sha256").update(body).digest();
  if (digest.toString("hex") !== seal.sha256)
    return `the SHA-256 of the body is ${digest.toString("hex")}, the seal says ${seal.sha256}: the file was changed after it was sealed`;
  if (seal.ed25519 === null || seal.key === null)
    return "the export is not signed (the server had no EXPORT_SIGNING_KEY_FILE): its digest proves nothing about who made it";
  if (seal.key !== pub.fingerprint) return `the seal was made with key ${seal.key}, not with the given key ${pub.fingerprint}`;
  const sig = Buffer.from(seal.ed25519, "base64");
  if (sig.length !== 64 || !verify(null, digest, pub.key, sig)) return "the Ed25519 signature does not verify with the given key";
  return null;
}
