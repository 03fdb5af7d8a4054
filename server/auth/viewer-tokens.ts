/**
 * Signed viewer tokens: JWTs signed HS256 by the broadcaster's backend (or by POST
 * /api/viewer-tokens) with one of the VIEWER_TOKEN_SECRET secrets. `sub` is the viewer id
 * (1-128 characters), `exp` is required, `nbf` is honoured, an optional `show` claim limits the
 * token to one show.
 *
 * Guarantees: signatures are checked by fast-jwt over node:crypto (HMAC compared with
 * timingSafeEqual; nothing secret is compared here), synchronously: a verification costs ~10 us of
 * CPU where jose's WebCrypto path cost ~45-65 us here, which on a connect storm was ~25% of a node's
 * connect throughput (bench viewer-burst). Tokens are minted with fast-jwt's signer too. Only HS256 is accepted
 * (`alg: none` and every other algorithm are `malformed`). With several secrets (rotation) each is tried in order until one
 * verifies the signature; claims are checked only against a verified payload, so an expired token
 * signed by any configured secret is `expired`, never `bad_signature`. New tokens are signed with
 * the first secret.
 */
import { randomBytes } from "node:crypto";
import { createSigner, createVerifier, TokenError } from "fast-jwt";
import type { Family } from "../ops/metrics.ts";

export const TOKEN_REJECTIONS = ["missing", "malformed", "bad_signature", "expired", "not_yet_valid", "wrong_show"] as const;
export type TokenRejection = (typeof TOKEN_REJECTIONS)[number];

export type TokenCheck = { ok: true; viewer: string } | { ok: false; reason: TokenRejection; message: string };

const ALG = "HS256";
/** Clock skew tolerated on `exp` and `nbf` between the minting backend and this node. */
export const CLOCK_TOLERANCE_SEC = 5;
/** Compact JWS of a token this server would ever accept is far below this (hello frames are <= 1 KB). */
const MAX_TOKEN_CHARS = 1024;
const MAX_VIEWER_CHARS = 128;

export interface MintOptions {
  /** Default: a random id. */
  viewer?: string | undefined;
  /** Limit the token to this show (the `show` claim). */
  show?: string | undefined;
  ttlSec: number;
}

export interface Minted {
  token: string;
  viewer: string;
  /** Expiry, seconds since the Unix epoch (the JWT `exp`). */
  exp: number;
}

export class ViewerTokens {
  /** Signs with the first (current) secret. */
  private readonly sign: (payload: Record<string, unknown>) => string;
  /** One verifier per secret, in configuration order. */
  private readonly verifiers: Array<(token: string) => unknown>;
  readonly rejected: Record<TokenRejection, number> = Object.fromEntries(TOKEN_REJECTIONS.map((r) => [r, 0])) as Record<
    TokenRejection,
    number
  >;
  accepted = 0;

  /** `secrets`: at least one, each at least 32 bytes (config.ts checks it). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error("ViewerTokens needs at least one secret");
    this.verifiers = secrets.map((key) =>
      createVerifier({
        key,
        algorithms: [ALG],
        requiredClaims: ["exp", "sub"],
        clockTolerance: CLOCK_TOLERANCE_SEC * 1000,
        cache: false,
      }),
    );
    this.sign = createSigner({ key: secrets[0]!, algorithm: ALG });
  }

  /** Verify a hello's token for `show`; counts the outcome. Throws only on an internal fault, never for a client's token. */
  verify(token: string | undefined, show: string): TokenCheck {
    const r = this.check(token, show);
    if (r.ok) this.accepted++;
    else this.rejected[r.reason]++;
    return r;
  }

  private check(token: string | undefined, show: string): TokenCheck {
    if (token === undefined || token === "") return fail("missing", "hello must carry a viewer token");
    if (token.length > MAX_TOKEN_CHARS) return fail("malformed", "token too long");
    for (const verify of this.verifiers) {
      let payload: { sub?: unknown; show?: unknown };
      try {
        payload = verify(token) as { sub?: unknown; show?: unknown }; // synchronous: no cache, key given as a string
      } catch (err) {
        if (err instanceof TokenError && err.code === TokenError.codes.invalidSignature) continue; // try the next secret
        return classify(err);
      }
      const sub = payload.sub;
      if (typeof sub !== "string" || sub.length < 1 || sub.length > MAX_VIEWER_CHARS)
        return fail("malformed", `sub must be a string of 1-${MAX_VIEWER_CHARS} characters`);
      if (payload.show !== undefined && payload.show !== show) return fail("wrong_show", "token is for another show");
      return { ok: true, viewer: sub };
    }
    return fail("bad_signature", "token signature does not verify");
  }

  /** A new token signed with the first (current) secret. */
  mint(o: MintOptions, nowSec = Math.floor(Date.now() / 1000)): Promise<Minted> {
    const viewer = o.viewer ?? `v_${randomBytes(16).toString("hex")}`;
    const exp = nowSec + o.ttlSec;
    const claims: Record<string, string> = o.show === undefined ? {} : { show: o.show };
    const token = this.sign({ ...claims, sub: viewer, iat: nowSec, exp });
    return Promise.resolve({ token, viewer, exp });
  }

  metrics(): Family[] {
    return [
      {
        name: "buzzcast_token_rejections_total",
        help: "Hellos refused for their viewer token (closed with 4012 unauthorized), by reason.",
        kind: "counter",
        samples: TOKEN_REJECTIONS.map((reason) => ({ labels: { reason }, value: this.rejected[reason] })),
      },
      {
        name: "buzzcast_tokens_accepted_total",
        help: "Viewer tokens verified at hello.",
        kind: "counter",
        samples: [{ value: this.accepted }],
      },
    ];
  }
}

function fail(reason: TokenRejection, message: string): TokenCheck {
  return { ok: false, reason, message };
}

function classify(err: unknown): TokenCheck {
  if (!(err instanceof TokenError)) throw err; // a bug in this module or fast-jwt, not the client's fault: surface it
  if (err.code === TokenError.codes.expired) return fail("expired", "token has expired; fetch a fresh one");
  if (err.code === TokenError.codes.inactive) return fail("not_yet_valid", "token is not valid yet (nbf)");
  if (err.code === TokenError.codes.invalidAlgorithm) return fail("malformed", `only ${ALG} tokens are accepted`);
  return fail("malformed", `token rejected: ${err.message}`);
}
