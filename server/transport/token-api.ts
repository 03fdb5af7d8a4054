/**
 * POST /api/viewer-tokens (admin): mint a viewer token, for integrators' tests and the demo. A
 * broadcaster's own backend mints its viewers' tokens itself (docs/viewer-tokens.md).
 * Without VIEWER_TOKEN_SECRET it answers 409 `tokens_disabled`: this server accepts anonymous
 * viewers and has nothing to sign with.
 */
import { z } from "zod";
import { Id, ViewerId } from "../../shared/protocol.ts";
import type { ViewerTokens } from "../auth/viewer-tokens.ts";
import type { Logger } from "../ops/logger.ts";
import { HttpError, readBody, sendJson, type Routes } from "./http-util.ts";
import type { TemplatedApp } from "./uws.ts";

export const DEFAULT_TOKEN_TTL_SEC = 3600;
/** A week: longer-lived tokens are better minted by the broadcaster's backend, per session. */
export const MAX_TOKEN_TTL_SEC = 7 * 24 * 3600;

const MintBody = z.object({
  viewer: ViewerId.optional(),
  show: Id.optional(),
  ttlSec: z.number().int().min(1).max(MAX_TOKEN_TTL_SEC).optional(),
});

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
      const body = r.parseBody(MintBody, raw.byteLength === 0 ? Buffer.from("{}") : raw);
      if (d.tokens === null) throw new HttpError(409, "tokens_disabled", "viewer tokens are off: set VIEWER_TOKEN_SECRET");
      const minted = await d.tokens.mint({ viewer: body.viewer, show: body.show, ttlSec: body.ttlSec ?? DEFAULT_TOKEN_TTL_SEC });
      d.log.info("viewer token minted", { show: body.show ?? null, exp: minted.exp });
      sendJson(g, 200, minted);
    }),
  );
}
