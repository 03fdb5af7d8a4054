/**
 * HTTP routes on the same App as the WebSocket endpoint: the admin API (Bearer token), public show
 * state, health, readiness, metrics, the API's OpenAPI document (openapi.ts) and the pages. Admin writes are durable (through the
 * ShowSource) before they are answered; one that lost the show's compare-and-swap to a change made
 * at the same moment is answered 409 `conflict` with the current state, and was applied nowhere.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { z } from "zod";
import { Id, PutShowBody, StageBody, type ShowState } from "../../shared/protocol.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import { RecordError } from "../record/record.ts";
import { ShowConflict, ShowError, type ShowRegistry } from "../shows/show-registry.ts";
import type { Show } from "../shows/show.ts";
import type { ViewerTokens } from "../auth/viewer-tokens.ts";
import { attachAuditRoutes, type AuditApiDeps } from "./audit-api.ts";
import { HttpError, guard, readBody, send, sendError, sendJson, type Guarded, type Routes } from "./http-util.ts";
import { openApiDocument } from "./openapi.ts";
import { attachTokenRoutes } from "./token-api.ts";
import { AnswerCache } from "./answer-cache.ts";
import { forwardedFor } from "./client-address.ts";
import type { PublicReadGate } from "./public-reads.ts";
import type { StaticFiles } from "./static-files.ts";
import type { HttpRequest, HttpResponse, TemplatedApp } from "./uws.ts";

const MAX_BODY = 64 * 1024;
/** The API's version in its OpenAPI document: bumped when a route or schema changes incompatibly. */
const API_VERSION = "1.0.0";

export interface HttpDeps {
  shows: ShowRegistry;
  /** Seq and totals as last published to viewers (the broadcast hub's). */
  live(show: Show): { readonly seq: number; readonly totals: Readonly<Record<string, number>>; readonly watching?: number };
  store: Store;
  metrics: Metrics;
  log: Logger;
  pages: StaticFiles;
  adminToken: string;
  /** Prometheus text for this process or, with workers, the whole node. */
  renderMetrics(): Promise<string>;
  /** Readiness of this node (false while draining or when a backend it needs is down). */
  readiness(): { ready: boolean; checks: Record<string, string> };
  /** Viewer tokens (VIEWER_TOKEN_SECRET); null or absent: tokens are off. */
  tokens?: ViewerTokens | null;
  /** Audit, timeline and export routes; absent: they answer 409 no_record. */
  audit?: AuditApiDeps;
  /** Bounds on public reads of the record (per-address rate, fixed questions). */
  publicReads: PublicReadGate;
}

/** Durable totals are shared per (show, epoch) for this long: one record query per node per second. */
export const DURABLE_TOTALS_CACHE_MS = 1000;
const decoder = new TextDecoder();

export function attachHttp(app: TemplatedApp, d: HttpDeps): void {
  const tokenDigest = digest(d.adminToken);
  const isAdmin = (req: HttpRequest): boolean => {
    const h = req.getHeader("authorization");
    return h.startsWith("Bearer ") && timingSafeEqual(digest(h.slice(7)), tokenDigest);
  };

  /** Wrap a handler: counts, copies what it needs from req synchronously, answers errors as JSON. */
  const route = (fn: (g: Guarded, req: HttpRequest) => Promise<void> | void) => (res: HttpResponse, req: HttpRequest) => {
    d.metrics.httpRequests++;
    const g = guard(res);
    const fail = (err: unknown) => {
      d.metrics.httpErrors++;
      if (err instanceof HttpError) return sendError(g, err);
      if (err instanceof RecordError && err.code === "unreachable")
        return sendError(g, new HttpError(503, "record_unavailable", "the durable record is unreachable; try again"));
      if (err instanceof ShowConflict) {
        d.metrics.adminConflicts++;
        const cur = err.current;
        return sendJson(g, 409, {
          error: { code: err.code, message: err.message },
          ...(cur ? { current: state(cur, d.live(cur), null) } : {}),
        });
      }
      if (err instanceof ShowError) return sendError(g, new HttpError(err.code === "unknown_show" ? 404 : 400, err.code, err.message));
      d.log.error("http handler failed", { err });
      sendError(g, new HttpError(500, "server_error", "internal error"));
    };
    try {
      const p = fn(g, req);
      if (p) p.catch(fail);
    } catch (err) {
      fail(err);
    }
  };

  const requireAdmin = (req: HttpRequest): void => {
    if (!isAdmin(req)) throw new HttpError(401, "unauthorized", "admin token required: Authorization: Bearer <ADMIN_TOKEN>");
  };
  const admin = (fn: (g: Guarded, showId: string) => Promise<void>) =>
    route((g, req) => {
      requireAdmin(req);
      return fn(g, showIdParam(req));
    });
  /** Per-address limit of a public read (not for admin callers); synchronous: reads `req`. */
  const admitPublic = (g: Guarded, req: HttpRequest): boolean => {
    const adminCaller = isAdmin(req);
    if (!adminCaller && d.publicReads.needsPeer) d.publicReads.admit(decoder.decode(g.res.getRemoteAddressAsText()), forwardedFor(req));
    return adminCaller;
  };
  const routes: Routes = { route, requireAdmin, isAdmin, admitPublic, showIdParam, parseBody };
  const durableTotals = new AnswerCache<Map<string, number> | null>(DURABLE_TOTALS_CACHE_MS);

  app.get(
    "/healthz",
    route((g) => sendJson(g, 200, { status: "ok" })),
  );
  app.get(
    "/readyz",
    route((g) => {
      const r = d.readiness();
      sendJson(g, r.ready ? 200 : 503, {
        status: r.ready ? (Object.values(r.checks).every((v) => v === "ok") ? "ready" : "degraded") : "not_ready",
        checks: r.checks,
      });
    }),
  );
  app.get(
    "/metrics",
    route(async (g) => send(g, 200, "text/plain; version=0.0.4", await d.renderMetrics())),
  );

  app.get(
    "/api/admin/session",
    route((g, req) => {
      if (!isAdmin(req)) throw new HttpError(401, "unauthorized", "admin token required: Authorization: Bearer <ADMIN_TOKEN>");
      sendJson(g, 200, { ok: true });
    }),
  );
  app.get(
    "/api/shows",
    route((g) => sendJson(g, 200, { shows: [...d.shows.all()].map((s) => ({ id: s.id, title: s.info.title })) })),
  );
  app.get(
    "/api/shows/:show",
    route(async (g, req) => {
      const id = showIdParam(req);
      admitPublic(g, req);
      const show = await d.shows.find(id);
      if (!show) throw new HttpError(404, "unknown_show", `no show ${id}`);
      // Live totals always answer (200). `durable` is omitted when the store keeps no record (null),
      // or when the record failed or did not answer within a second (counted, logged). One record
      // query per (show, epoch) per node per DURABLE_TOTALS_CACHE_MS, however many callers.
      const load = () => d.store.durableTotals(show.id, show.epoch);
      const durable: Map<string, number> | null = await withTimeout(durableTotals.get(`${show.id}\n${show.epoch}`, load), 1000).catch(
        (err: unknown) => {
          d.metrics.durableTotalsUnavailable++;
          d.publicReads.recordUnavailable();
          d.log.warn("durable totals unavailable", { err, show: show.id });
          return null;
        },
      );
      sendJson(g, 200, state(show, d.live(show), durable));
    }),
  );
  app.put(
    "/api/shows/:show",
    admin(async (g, id) => {
      const body = parseBody(PutShowBody, await readBody(g, MAX_BODY));
      const ids = new Set(body.acts.map((a) => a.id));
      if (ids.size !== body.acts.length) throw new HttpError(400, "bad_request", "act ids must be unique");
      const show = await d.shows.put(id, body);
      d.log.info("show saved", { show: id, acts: body.acts.length });
      sendJson(g, 200, state(show, d.live(show), null));
    }),
  );
  app.post(
    "/api/shows/:show/stage",
    admin(async (g, id) => {
      const body = parseBody(StageBody, await readBody(g, MAX_BODY));
      const show = await d.shows.setStage(id, { act: body.act, open: body.open }, body.at);
      d.log.info(body.at === undefined ? "stage changed" : "stage change scheduled", {
        show: id,
        act: body.act,
        open: body.open,
        at: show.next?.at,
      });
      sendJson(g, 200, state(show, d.live(show), null));
    }),
  );
  app.post(
    "/api/shows/:show/reset",
    admin(async (g, id) => {
      const show = await d.shows.reset(id);
      d.log.info("show reset", { show: id, epoch: show.epoch });
      sendJson(g, 200, state(show, d.live(show), null));
    }),
  );
  const apiDocument = JSON.stringify(openApiDocument(API_VERSION));
  app.get(
    "/api/openapi.json",
    route((g) => send(g, 200, "application/json; charset=utf-8", apiDocument, { "cache-control": "no-cache" })),
  );
  attachTokenRoutes(app, routes, { tokens: d.tokens ?? null, log: d.log });
  attachAuditRoutes(app, routes, {
    shows: d.shows,
    live: (show) => d.live(show),
    metrics: d.metrics,
    log: d.log,
    audit: d.audit ?? null,
    publicReads: d.publicReads,
  });
  app.any(
    "/api/*",
    route(() => {
      throw new HttpError(404, "not_found", "no such API route");
    }),
  );

  app.get(
    "/*",
    route((g, req) => {
      const f = d.pages.lookup(req.getUrl());
      if (!f) throw new HttpError(404, "not_found", "not found");
      if (req.getHeader("if-none-match") === f.etag) return send(g, 304, f.type, "", { etag: f.etag });
      send(g, 200, f.type, f.body, { etag: f.etag, "cache-control": "no-cache" });
    }),
  );
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

export function showIdParam(req: HttpRequest): string {
  const id = req.getParameter(0) ?? "";
  if (!Id.safeParse(id).success) throw new HttpError(400, "bad_request", "show ids are 1-64 of A-Z a-z 0-9 _ -");
  return id;
}

export function parseBody<T extends z.ZodType>(schema: T, buf: Buffer): z.infer<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString("utf8"));
  } catch {
    throw new HttpError(400, "bad_request", "body is not valid JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new HttpError(400, "bad_request", i ? `${i.path.join(".") || "body"}: ${i.message}` : "invalid body");
  }
  return r.data;
}

/** The public show state; `durable` only when there is a record that answered. */
function state(show: Show, live: ReturnType<HttpDeps["live"]>, durable: Map<string, number> | null): ShowState {
  const s: ShowState = {
    show: show.info,
    stage: show.stage,
    epoch: show.epoch,
    version: show.version,
    seq: live.seq,
    totals: { ...live.totals },
  };
  if (durable !== null) s.durable = Object.fromEntries(show.info.acts.map((a) => [a.id, durable.get(a.id) ?? 0]));
  if (show.next !== null) s.next = show.next;
  if (live.watching !== undefined) s.watching = live.watching;
  return s;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
