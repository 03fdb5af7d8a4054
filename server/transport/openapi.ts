/**
 * The OpenAPI 3.1 description of every HTTP route, served at GET /api/openapi.json. Request and
 * response schemas are generated from the zod schemas the handlers parse and answer with
 * (shared/protocol.ts, api-schemas.ts), so the document cannot drift from the parsers; the answers
 * are checked against it live by test/openapi.test.ts. Every route may answer 500 `server_error`.
 */
import { z } from "zod";
import { PutShowBody, ShowState, StageBody } from "../../shared/protocol.ts";
import {
  AdminSession,
  ApiError,
  AuditReport,
  ConflictError,
  Health,
  MintedToken,
  MintTokenBody,
  Readiness,
  ShowList,
  Timeline,
} from "./api-schemas.ts";
import { TIMELINE_INTERVALS_MS } from "./public-reads.ts";

type JsonSchema = Record<string, unknown>;

/** Named schemas (components.schemas): [zod schema, "input" for request bodies | "output" for answers]. */
const SCHEMAS: Record<string, [z.ZodType, "input" | "output"]> = {
  ShowState: [ShowState, "output"],
  ShowList: [ShowList, "output"],
  PutShowBody: [PutShowBody, "input"],
  StageBody: [StageBody, "input"],
  MintTokenBody: [MintTokenBody, "input"],
  MintedToken: [MintedToken, "output"],
  AuditReport: [AuditReport, "output"],
  Timeline: [Timeline, "output"],
  Health: [Health, "output"],
  Readiness: [Readiness, "output"],
  AdminSession: [AdminSession, "output"],
  ApiError: [ApiError, "output"],
  ConflictError: [ConflictError, "output"],
};
type SchemaName = keyof typeof SCHEMAS;

/** What each error status means on this API, by `error.code`. */
const ERROR_MEANING: Record<number, string> = {
  400: "`bad_request`: a malformed show id, body or query parameter (the message names it); `unknown_act` (timeline, stage): no such act in the show",
  401: "`unauthorized`: the admin token is missing or wrong (`Authorization: Bearer <ADMIN_TOKEN>`)",
  404: "`unknown_show`: no show with this id",
  409: "`no_record`: this server keeps no durable record (MYSQL_URL is not set)",
  413: "`too_large`: the request body is over the limit",
  429: "`rate_limited`: over PUBLIC_READ_RATE_PER_IP requests per second from this address (admin callers are not limited); retry after `Retry-After` seconds",
  500: "`server_error`: an internal fault (logged)",
  503: "`record_unavailable`: the durable record is unreachable; try again",
};

/** 409 of an admin change (PUT a show, stage, reset): a compare-and-swap on the show's version. */
const CONFLICT_MEANING =
  "`conflict`: another change was saved from the same show version first; this one was applied nowhere. `current` is the state that won: decide again from it";

interface Answer {
  description: string;
  /** A named JSON schema, or raw content types (text bodies). */
  json?: SchemaName;
  content?: Record<string, JsonSchema>;
}

interface Operation {
  summary: string;
  tag: "shows" | "audit" | "tokens" | "ops";
  admin?: boolean;
  /** Public, but the admin token lifts limits (earlier epochs, any interval, no per-address rate). */
  adminOptional?: boolean;
  /** Path parameters are taken from the path; query parameters here. */
  query?: Array<{ name: string; description: string; schema: JsonSchema; required?: boolean }>;
  body?: SchemaName;
  answers: Record<number, Answer>;
  /** Error statuses (ApiError body) besides 500, which every route may answer. */
  errors?: number[];
  /** Error bodies other than ApiError, by status. */
  errorSchema?: Record<number, SchemaName>;
  /** Error meanings that differ from ERROR_MEANING for this route. */
  errorMeaning?: Record<number, string>;
}

const text = (type: string): Record<string, JsonSchema> => ({ [type]: { type: "string" } });
const epochParam = {
  name: "epoch",
  description: "An earlier epoch of the show (default: the current one).",
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
};

/** Every route: path -> method -> operation. */
const ROUTES: Record<string, Record<string, Operation>> = {
  "/api/shows": {
    get: { summary: "List the shows", tag: "shows", answers: { 200: { description: "The shows this node knows.", json: "ShowList" } } },
  },
  "/api/shows/{show}": {
    get: {
      summary: "A show's state: acts, stage, epoch, live totals (and durable totals when the record answered within 1 s)",
      tag: "shows",
      answers: { 200: { description: "The show state.", json: "ShowState" } },
      errors: [400, 404, 429, 503],
    },
    put: {
      summary: "Create or edit a show",
      tag: "shows",
      admin: true,
      body: "PutShowBody",
      answers: { 200: { description: "Saved (durable before the answer); the new state.", json: "ShowState" } },
      errors: [400, 401, 404, 409, 413, 503],
      errorSchema: { 409: "ConflictError" },
      errorMeaning: {
        400: "`bad_request`: a malformed show id or body, or act ids that are not unique",
        404: "`unknown_show`",
      },
    },
  },
  "/api/shows/{show}/stage": {
    post: {
      summary: "Put an act on stage and open or close voting, now or at a scheduled instant (`at`)",
      tag: "shows",
      admin: true,
      body: "StageBody",
      answers: { 200: { description: "Applied (or scheduled: `next`); the new state.", json: "ShowState" } },
      errors: [400, 401, 404, 409, 413, 503],
      errorSchema: { 409: "ConflictError" },
    },
  },
  "/api/shows/{show}/reset": {
    post: {
      summary: "Start a new epoch: totals restart from zero",
      tag: "shows",
      admin: true,
      answers: { 200: { description: "The state in the new epoch.", json: "ShowState" } },
      errors: [400, 401, 404, 409, 503],
      errorSchema: { 409: "ConflictError" },
    },
  },
  "/api/shows/{show}/audit": {
    get: {
      summary: "Per act: live total, record, audit log rows, and whether they match",
      tag: "audit",
      admin: true,
      query: [epochParam],
      answers: { 200: { description: "The audit of the epoch.", json: "AuditReport" } },
      errors: [400, 401, 404, 409, 503],
    },
  },
  "/api/shows/{show}/timeline": {
    get: {
      summary: "Counted buzzes of one act per interval, from the record (cached 1 s per node)",
      tag: "audit",
      adminOptional: true,
      query: [
        { name: "act", description: "The act.", schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" }, required: true },
        {
          name: "intervalMs",
          description: `Bucket width in ms (default PERSIST_INTERVAL_MS). Public: ${TIMELINE_INTERVALS_MS.join(", ")} or PERSIST_INTERVAL_MS; with the admin token any of 100-3,600,000.`,
          schema: { type: "integer", minimum: 100, maximum: 3_600_000 },
        },
        { ...epochParam, description: "An earlier epoch of the show (admin token only; default: the current one)." },
      ],
      answers: { 200: { description: "Non-empty buckets; their counts add up to the act's audit total.", json: "Timeline" } },
      errors: [400, 401, 404, 409, 429, 503],
      errorMeaning: {
        400: "`bad_request`: a malformed show id, act or interval, or an interval outside the public set without the admin token; `unknown_act`: no such act in the show",
        401: "`unauthorized`: an earlier epoch asked without the admin token",
      },
    },
  },
  "/api/shows/{show}/export": {
    get: {
      summary: "The sealed, streamed export: per-act totals and the buzz log, digest and signature in the last line",
      tag: "audit",
      admin: true,
      query: [
        {
          name: "format",
          description: "`csv` (default) or `json` (one JSON object per line).",
          schema: { type: "string", enum: ["csv", "json"] },
        },
        { name: "raw", description: "`1`: real viewer ids instead of pseudonyms.", schema: { type: "string", enum: ["1"] } },
        epochParam,
      ],
      answers: {
        200: {
          description: "The export (streamed; a failure mid-stream cuts the connection, counted in buzzcast_export_failures_total).",
          content: { ...text("text/csv"), ...text("application/x-ndjson") },
        },
      },
      errors: [400, 401, 404, 409, 503],
    },
  },
  "/api/export-key": {
    get: {
      summary: "The public key that verifies signed exports (SPKI, PEM)",
      tag: "audit",
      answers: { 200: { description: "The key.", content: text("application/x-pem-file") } },
      errors: [404],
      errorMeaning: { 404: "`no_signing_key`: exports are not signed (EXPORT_SIGNING_KEY is not set)" },
    },
  },
  "/api/viewer-tokens": {
    post: {
      summary: "Mint a viewer token (integration tests, demos; a broadcaster's backend mints its viewers' tokens itself)",
      tag: "tokens",
      admin: true,
      body: "MintTokenBody",
      answers: { 200: { description: "The token, its viewer id (`sub`) and expiry.", json: "MintedToken" } },
      errors: [400, 401, 409, 413],
      errorMeaning: { 409: "`tokens_disabled`: viewer tokens are off (VIEWER_TOKEN_SECRET is not set)" },
    },
  },
  "/api/admin/session": {
    get: {
      summary: "Check an admin token (the console's sign-in)",
      tag: "ops",
      admin: true,
      answers: { 200: { description: "The token is accepted.", json: "AdminSession" } },
      errors: [401],
    },
  },
  "/api/openapi.json": {
    get: {
      summary: "This document",
      tag: "ops",
      answers: { 200: { description: "OpenAPI 3.1.", content: { "application/json": { type: "object" } } } },
    },
  },
  "/healthz": {
    get: { summary: "Liveness", tag: "ops", answers: { 200: { description: "The process answers.", json: "Health" } } },
  },
  "/readyz": {
    get: {
      summary: "Readiness: whether this node should get new viewers",
      tag: "ops",
      answers: {
        200: {
          description: "Ready (`degraded`: ready with a backend in fallback, or shedding connections: `checks.node` is `shedding`).",
          json: "Readiness",
        },
        503: {
          description: "Not ready: draining, or a backend it needs is down (`checks` says which).",
          json: "Readiness",
        },
      },
    },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics of the node (every worker thread aggregated)",
      tag: "ops",
      answers: {
        200: { description: "Prometheus text format 0.0.4 (docs/operations.md lists every metric).", content: text("text/plain") },
      },
    },
  },
};

function schemaOf(name: SchemaName): JsonSchema {
  const [schema, io] = SCHEMAS[name]!;
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io, target: "draft-2020-12" }) as JsonSchema;
  return json;
}

const ref = (name: SchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

function operation(path: string, method: string, op: Operation): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, a] of Object.entries(op.answers)) {
    const content = a.json
      ? { "application/json": { schema: ref(a.json) } }
      : Object.fromEntries(Object.entries(a.content ?? {}).map(([t, s]) => [t, { schema: s }]));
    responses[status] = { description: a.description, content };
  }
  for (const status of [...(op.errors ?? []), ...(op.admin && !op.errors?.includes(401) ? [401] : []), 500]) {
    const meaning =
      op.errorMeaning?.[status] ?? (op.errorSchema?.[status] === "ConflictError" ? CONFLICT_MEANING : ERROR_MEANING[status]) ?? "an error";
    responses[String(status)] = {
      description: meaning,
      ...(status === 429 ? { headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } } : {}),
      content: { "application/json": { schema: ref(op.errorSchema?.[status] ?? "ApiError") } },
    };
  }
  const parameters: JsonSchema[] = [];
  for (const m of path.matchAll(/\{(\w+)\}/g))
    parameters.push({
      name: m[1],
      in: "path",
      required: true,
      description: "Show id.",
      schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
    });
  for (const q of op.query ?? [])
    parameters.push({ name: q.name, in: "query", required: q.required === true, description: q.description, schema: q.schema });
  return {
    operationId: `${method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: ref(op.body) } } } } : {}),
    ...(op.admin ? { security: [{ adminToken: [] }] } : op.adminOptional ? { security: [{}, { adminToken: [] }] } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document (a plain JSON value). */
export function openApiDocument(version: string): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const [path, methods] of Object.entries(ROUTES)) {
    paths[path] = Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, operation(path, method, op)]));
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "buzzcast HTTP API",
      version,
      description:
        "Shows, stage and epochs (admin), public show state, the audit trail, viewer tokens, health, readiness and metrics. Errors answer `{error: {code, message}}`. Viewers use the WebSocket protocol (docs/protocol.md, docs/protocol-v2.md), not this API.",
    },
    tags: [
      { name: "shows", description: "Shows, the stage and epochs." },
      { name: "audit", description: "The count you can prove: audit, timeline, export (need MYSQL_URL)." },
      { name: "tokens", description: "Viewer tokens (need VIEWER_TOKEN_SECRET)." },
      { name: "ops", description: "Health, readiness, metrics, this document." },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.keys(SCHEMAS).map((name) => [name, schemaOf(name)])),
      securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN (printed at start when not set)." } },
    },
  };
}
