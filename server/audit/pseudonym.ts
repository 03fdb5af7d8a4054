/**
 * Viewer ids in exports are pseudonymised with a keyed hash (HMAC-SHA256): the same viewer gets the
 * same pseudonym everywhere the same key is used, so distinct viewers stay countable, and nobody
 * without the key can reverse a pseudonym or test a guessed id against it.
 *
 * The key: EXPORT_PSEUDONYM_KEY; else derived from EXPORT_SIGNING_KEY (HKDF-SHA256, its own
 * `info`, so the signing key itself never touches viewer ids); else a random key per process
 * (pseudonyms then match only within one process's exports: the export says so).
 */
import { createHmac, hkdfSync, randomBytes } from "node:crypto";

/** Hex characters kept from the HMAC (128 bits: collisions are negligible at any audience size). */
const PSEUDONYM_HEX = 32;

export type PseudonymKeySource = "configured" | "derived" | "per_process";

export class Pseudonymiser {
  readonly source: PseudonymKeySource;
  private readonly key: Buffer;

  constructor(keys: { pseudonymKey?: string | undefined; signingKey?: string | undefined }) {
    if (keys.pseudonymKey !== undefined) {
      this.key = Buffer.from(keys.pseudonymKey, "utf8");
      this.source = "configured";
    } else if (keys.signingKey !== undefined) {
      this.key = Buffer.from(hkdfSync("sha256", Buffer.from(keys.signingKey, "utf8"), Buffer.alloc(0), "buzzcast viewer pseudonym v1", 32));
      this.source = "derived";
    } else {
      this.key = randomBytes(32);
      this.source = "per_process";
    }
  }

  /** `p_` + the first 128 bits of HMAC-SHA256(key, viewer), hex. */
  of(viewer: string): string {
    return "p_" + createHmac("sha256", this.key).update(viewer, "utf8").digest("hex").slice(0, PSEUDONYM_HEX);
  }
}
