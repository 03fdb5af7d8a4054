/**
 * POST /api/viewer-tokens (admin): mint a viewer token, for integrators' tests and the demo. A
 * broadcaster's own backend mints its viewers' tokens itself (docs/viewer-tokens.md).
 * Without VIEWER_TOKEN_SECRET it answers 409 `tokens_disabled`: this server accepts anonymous
 * viewers and has nothing to sign with.
 */
import type { ViewerTokens } from "../auth/viewer-tokens.ts";
import type { Logger } from "../ops/logger.ts";
import { MintTokenBody } from "./api-schemas.ts";
import { HttpError, readBody, sendJson, type Routes } from "./http-util.ts";
import type { TemplatedApp } from "./uws.ts";

export const DEFAULT_TOKEN_TTL_SEC = 3600;

export interface TokenApiDeps {
  tokens: ViewerTokens | null;
  log: Logger;
}

export function attachTokenRoutes(app: TemplatedApp, r: Routes, d: TokenApiDeps): void {
  app.post(
    "/api/viewer-tokens",
    r.route(async (g, req) => {
      r.requireAdmin(req);
      const raw = await readBody(g, 16 * 1024);
      const body = r.parseBody(MintTokenBody, raw.byteLength === 0 ? Buffer.from("{}") : raw);
      if (d.tokens === null) throw new HttpError(409, "tokens_disabled", "viewer tokens are off: set VIEWER_TOKEN_SECRET");
      const minted = await d.tokens.mint({ viewer: body.viewer, show: body.show, ttlSec: body.ttlSec ?? DEFAULT_TOKEN_TTL_SEC });
      d.log.info("viewer token minted", { show: body.show ?? null, exp: minted.exp });
      sendJson(g, 200, minted);
    }),
  );
}
