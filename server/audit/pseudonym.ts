/**
 * Viewer ids in exports are pseudonymised with a keyed hash (HMAC-SHA256): the same viewer gets the
 * same pseudonym in every act and every export made with the same key, so distinct viewers stay
 * countable, and nobody without the key can reverse a pseudonym or test a guessed id against it.
 *
 * The key is independent of every signing key: EXPORT_PSEUDONYM_KEY when set ("configured"); else
 * 32 random bytes the first node generated and stored in the record ("record": the same on every
 * node and across restarts, never derived from anything public, never exported). With the memory
 * record (no MYSQL_URL) that key lives as long as the process.
 *
 * What a pseudonym does not hide: that two rows are the same viewer (within and across acts and
 * exports), when each of them buzzed, and how many distinct viewers there are. Whoever holds the key
 * (the operator) can re-identify every viewer.
 */
import { createHmac, randomBytes } from "node:crypto";

/** Hex characters kept from the HMAC (128 bits: collisions are negligible at any audience size). */
const PSEUDONYM_HEX = 32;
/** Name of the record's fleet secret holding the default key. */
export const PSEUDONYM_SECRET = "export_pseudonym";

export type PseudonymKeySource = "configured" | "record";

export class Pseudonymiser {
  constructor(
    private readonly key: Buffer,
    readonly source: PseudonymKeySource,
  ) {}

  /** `p_` + the first 128 bits of HMAC-SHA256(key, viewer), hex. */
  of(viewer: string): string {
    return "p_" + createHmac("sha256", this.key).update(viewer, "utf8").digest("hex").slice(0, PSEUDONYM_HEX);
  }
}

/** Where the default key is kept (the record). */
export interface SecretKeeper {
  fleetSecret(name: string, candidate: Buffer): Promise<Buffer>;
}

/**
 * The pseudonymiser, made once: from the configured key, else from the record's fleet secret (read
 * at the first export; a failed read is retried at the next one).
 */
export class PseudonymKeys {
  private made: Promise<Pseudonymiser> | null = null;

  constructor(
    private readonly configured: string | undefined,
    private readonly keeper: SecretKeeper | null,
  ) {}

  get(): Promise<Pseudonymiser> {
    if (this.made !== null) return this.made;
    if (this.configured !== undefined)
      return (this.made = Promise.resolve(new Pseudonymiser(Buffer.from(this.configured, "utf8"), "configured")));
    if (this.keeper === null) return Promise.reject(new Error("no EXPORT_PSEUDONYM_KEY and no record to keep a key in"));
    const made = this.keeper.fleetSecret(PSEUDONYM_SECRET, randomBytes(32)).then((key) => new Pseudonymiser(key, "record"));
    this.made = made;
    made.catch(() => {
      if (this.made === made) this.made = null;
    });
    return made;
  }
}
