/**
 * Viewer tokens as a broadcaster's backend mints them (docs/viewer-tokens.md), with fast-jwt's
 * signer: the library the server verifies with. Times are seconds since the Unix epoch.
 */
import { createSigner } from "fast-jwt";

export interface TokenClaims {
  sub?: string;
  show?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
}

/** An HS256 token over `claims`; no `iat` unless given, no `exp` unless given. */
export function mintHs256(secret: string | Uint8Array, claims: TokenClaims): string {
  const key = typeof secret === "string" ? secret : Buffer.from(secret);
  return createSigner({ key, algorithm: "HS256", noTimestamp: claims.iat === undefined })(claims);
}

/** An unsecured token (`alg: none`, empty signature): the server must refuse it as malformed. */
export function unsecuredToken(claims: TokenClaims): string {
  return createSigner({ algorithm: "none", noTimestamp: true })(claims);
}

/** Seconds since the Unix epoch, plus `inSec`. */
export function epochSec(inSec = 0): number {
  return Math.floor(Date.now() / 1000) + inSec;
}
