/**
 * Schemas of the HTTP API's answers that are not protocol types (shared/protocol.ts has the show
 * state and the admin request bodies). The OpenAPI document (openapi.ts) is generated from these
 * and from the protocol's schemas, and test/openapi.test.ts checks live answers against it, so a
 * handler that drifts from its schema fails that test.
 */
import { z } from "zod";
import { Count, Id, ShowState, ViewerId } from "../../shared/protocol.ts";

/** Every 4xx/5xx JSON answer. `code` is stable and machine-readable; `message` is for people. */
export const ApiError = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

/** 409 `conflict`: another admin change was saved from the same show version first; `current` is the state that won. */
export const ConflictError = ApiError.extend({ current: ShowState.optional() });

export const Health = z.object({ status: z.literal("ok") });

export const Readiness = z.object({
  /** `degraded`: ready, but a check is not `ok` (a backend in fallback). */
  status: z.enum(["ready", "degraded", "not_ready"]),
  checks: z.record(z.string(), z.string()),
});

export const AdminSession = z.object({ ok: z.literal(true) });

export const ShowList = z.object({ shows: z.array(z.object({ id: Id, title: z.string() })) });

/** A week: longer-lived tokens are better minted by the broadcaster's backend, per session. */
export const MAX_TOKEN_TTL_SEC = 7 * 24 * 3600;

export const MintTokenBody = z.object({
  viewer: ViewerId.optional(),
  show: Id.optional(),
  ttlSec: z.number().int().min(1).max(MAX_TOKEN_TTL_SEC).optional(),
});

export const MintedToken = z.object({
  token: z.string(),
  viewer: ViewerId,
  /** Expiry, seconds since the Unix epoch. */
  exp: z.number().int(),
});

export const AuditReport = z.object({
  show: Id,
  epoch: z.string(),
  acts: z.record(
    z.string(),
    z.object({
      /** The live total this node publishes; null for an earlier epoch. */
      live: Count.nullable(),
      record: Count,
      logged: Count,
      match: z.boolean(),
    }),
  ),
});

export const Timeline = z.object({
  show: Id,
  epoch: z.string(),
  act: Id,
  intervalMs: z.number().int(),
  /** [bucket start (ms since the Unix epoch), counted buzzes], non-empty buckets only. */
  points: z.array(z.tuple([z.number().int(), Count])),
});
