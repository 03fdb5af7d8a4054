/**
 * GET /api/openapi.json is a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator),
 * and every route it describes answers as it says: each live answer below (a server with a MariaDB
 * record and viewer tokens, and one without either) has a documented status, a documented content
 * type, and a JSON body that validates (ajv, JSON Schema 2020-12) against the documented schema.
 * Every operation of the document is called at least once.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { pollUntil } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>;
  components: { schemas: Record<string, Json> };
}

let db: MariaDb;
let rec: RunningServer;
let plain: RunningServer;
let doc: Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
const called = new Set<string>();

before(async () => {
  db = await startMariaDb();
  [rec, plain] = await Promise.all([
    startServer({
      MYSQL_URL: db.freshUrl(),
      VIEWER_TOKEN_SECRET: "openapi-test-secret-0123456789-abcdef",
      TICK_MS: "50",
      PERSIST_INTERVAL_MS: "200",
    }),
    startServer({ PUBLIC_READ_RATE_PER_IP: "1" }),
  ]);
  doc = (await (await fetch(`${rec.url}/api/openapi.json`)).json()) as Doc;
});

after(async () => {
  await Promise.all([rec?.stop(), plain?.stop()]);
  await db?.stop();
});

/** The documented schema with its component references resolved against the document's components. */
function validatorFor(schema: Json) {
  const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll("#/components/schemas/", "#/$defs/")) as Json;
  const rewritten = JSON.parse(JSON.stringify(schema).replaceAll("#/components/schemas/", "#/$defs/")) as Json;
  return ajv.compile({ ...rewritten, $defs: defs });
}

interface Call {
  method: "GET" | "PUT" | "POST";
  /** Path as documented, e.g. /api/shows/{show}. */
  route: string;
  /** Concrete path and query. */
  url: string;
  admin?: boolean;
  body?: unknown;
  rawBody?: string;
  expect: number;
  /** For JSON errors: the `error.code` expected. */
  code?: string;
}

/** Make the call, check it against the document, return the parsed JSON body (or the text). */
async function call(server: RunningServer, c: Call): Promise<unknown> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (c.admin) headers["authorization"] = `Bearer ${server.adminToken}`;
  const body = c.rawBody ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
  const res = await fetch(server.url + c.url, { method: c.method, headers, ...(body === undefined ? {} : { body }) });
  return check(c, res, await res.text());
}

/** Check an answer against the document: documented status, content type, and body schema. */
function check(c: Call, res: Response, text: string): unknown {
  const what = `${c.method} ${c.url} -> ${res.status} ${text.slice(0, 300)}`;
  assert.equal(res.status, c.expect, what);
  const op = doc.paths[c.route]?.[c.method.toLowerCase()];
  assert.ok(op, `${c.method} ${c.route} is documented`);
  called.add(`${c.method.toLowerCase()} ${c.route}`);
  const answer = op.responses[String(res.status)];
  assert.ok(answer, `status ${res.status} is documented for ${c.method} ${c.route}`);
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const media = answer.content?.[type];
  assert.ok(
    media,
    `content type ${type} is documented for ${c.method} ${c.route} ${res.status}: ${Object.keys(answer.content ?? {}).join(", ")}`,
  );
  if (type !== "application/json") return text;
  const json = JSON.parse(text) as unknown;
  const validate = validatorFor(media.schema);
  assert.ok(validate(json), `${what}\n${ajv.errorsText(validate.errors)}`);
  if (c.code !== undefined) assert.equal((json as { error: { code: string } }).error.code, c.code, what);
  return json;
}

test("the document is valid OpenAPI 3.1", async () => {
  const validator = new Validator();
  const r = await validator.validate(doc as unknown as Json);
  assert.ok(r.valid, JSON.stringify(r.errors, null, 2));
  assert.equal(validator.version, "3.1");
});

test("every route answers with a documented status, content type and body", async () => {
  const S = "/api/shows/{show}";
  const acts = [
    { id: "a", name: "Act A" },
    { id: "b", name: "Act B" },
  ];
  // Health, metrics, the document itself.
  await call(rec, { method: "GET", route: "/healthz", url: "/healthz", expect: 200 });
  await call(rec, { method: "GET", route: "/readyz", url: "/readyz", expect: 200 });
  const metrics = (await call(rec, { method: "GET", route: "/metrics", url: "/metrics", expect: 200 })) as string;
  assert.match(metrics, /^# HELP buzzcast_/m);
  await call(rec, { method: "GET", route: "/api/openapi.json", url: "/api/openapi.json", expect: 200 });
  await call(rec, { method: "GET", route: "/api/admin/session", url: "/api/admin/session", admin: true, expect: 200 });
  await call(rec, { method: "GET", route: "/api/admin/session", url: "/api/admin/session", expect: 401, code: "unauthorized" });

  // Shows.
  await call(rec, { method: "PUT", route: S, url: "/api/shows/oa", admin: true, body: { title: "OpenAPI", acts }, expect: 200 });
  await call(rec, { method: "PUT", route: S, url: "/api/shows/oa", body: { title: "OpenAPI", acts }, expect: 401, code: "unauthorized" });
  await call(rec, {
    method: "PUT",
    route: S,
    url: "/api/shows/oa",
    admin: true,
    body: { title: "", acts },
    expect: 400,
    code: "bad_request",
  });
  await call(rec, { method: "PUT", route: S, url: "/api/shows/oa", admin: true, rawBody: "{not json", expect: 400, code: "bad_request" });
  await call(rec, {
    method: "PUT",
    route: S,
    url: "/api/shows/bad!id",
    admin: true,
    body: { title: "x", acts },
    expect: 400,
    code: "bad_request",
  });
  await call(rec, {
    method: "PUT",
    route: S,
    url: "/api/shows/oa",
    admin: true,
    rawBody: `"${"x".repeat(70_000)}"`,
    expect: 413,
    code: "too_large",
  });
  await call(rec, { method: "GET", route: "/api/shows", url: "/api/shows", expect: 200 });
  await call(rec, { method: "GET", route: S, url: "/api/shows/nope", expect: 404, code: "unknown_show" });
  await call(rec, { method: "GET", route: S, url: "/api/shows/bad!id", expect: 400, code: "bad_request" });

  // Stage: now, scheduled, refused.
  const ST = `${S}/stage`;
  await call(rec, { method: "POST", route: ST, url: "/api/shows/oa/stage", admin: true, body: { act: "a", open: true }, expect: 200 });
  const scheduled = (await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/oa/stage",
    admin: true,
    body: { act: "a", open: false, at: Date.now() + 600_000 },
    expect: 200,
  })) as { next?: unknown };
  assert.ok(scheduled.next, "a scheduled change is in `next`");
  await call(rec, { method: "POST", route: ST, url: "/api/shows/oa/stage", admin: true, body: { act: "a", open: true }, expect: 200 });
  await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/oa/stage",
    admin: true,
    body: { act: "zz", open: true },
    expect: 400,
    code: "unknown_act",
  });
  await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/oa/stage",
    admin: true,
    body: { open: true },
    expect: 400,
    code: "bad_request",
  });
  await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/nope/stage",
    admin: true,
    body: { act: "a", open: true },
    expect: 404,
    code: "unknown_show",
  });
  await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/oa/stage",
    body: { act: "a", open: true },
    expect: 401,
    code: "unauthorized",
  });
  await call(rec, {
    method: "POST",
    route: ST,
    url: "/api/shows/oa/stage",
    admin: true,
    rawBody: `"${"x".repeat(70_000)}"`,
    expect: 413,
    code: "too_large",
  });

  // Buzzes, so the audit, timeline and export have rows.
  const join = async (i: number): Promise<TestViewer> => {
    const { token } = (await admin(rec, "POST", "/api/viewer-tokens", { show: "oa", viewer: `oa${i}` })) as { token: string };
    const v = new TestViewer(rec.wsUrl);
    await v.opened;
    v.send({ type: "hello", protocol: 1, show: "oa", token });
    await v.until(() => v.welcome !== null, "welcome");
    return v;
  };
  const viewers = await Promise.all([0, 1, 2].map(join));
  await Promise.all(viewers.map((v) => v.votingOpen("a")));
  for (const v of viewers) v.buzz("a");
  await pollUntil(
    () => admin(rec, "GET", "/api/shows/oa/audit") as Promise<{ acts: Record<string, { logged: number }> }>,
    (r) => r.acts["a"]?.logged === 3,
    "three buzzes in the audit log",
  );
  for (const v of viewers) v.close();
  const state = (await call(rec, { method: "GET", route: S, url: "/api/shows/oa", expect: 200 })) as { epoch: string };

  // Audit, timeline, export.
  const AU = `${S}/audit`;
  await call(rec, { method: "GET", route: AU, url: "/api/shows/oa/audit", admin: true, expect: 200 });
  await call(rec, { method: "GET", route: AU, url: `/api/shows/oa/audit?epoch=${state.epoch}`, admin: true, expect: 200 });
  await call(rec, { method: "GET", route: AU, url: "/api/shows/oa/audit?epoch=bad!", admin: true, expect: 400, code: "bad_request" });
  await call(rec, { method: "GET", route: AU, url: "/api/shows/oa/audit", expect: 401, code: "unauthorized" });
  await call(rec, { method: "GET", route: AU, url: "/api/shows/nope/audit", admin: true, expect: 404, code: "unknown_show" });
  await call(plain, { method: "GET", route: AU, url: "/api/shows/demo/audit", admin: true, expect: 409, code: "no_record" });
  const TL = `${S}/timeline`;
  const tl = (await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline?act=a&intervalMs=1000", expect: 200 })) as {
    points: Array<[number, number]>;
  };
  assert.equal(
    tl.points.reduce((n, [, c]) => n + c, 0),
    3,
  );
  await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline", expect: 400, code: "bad_request" });
  await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline?act=zz", expect: 400, code: "unknown_act" });
  await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline?act=a&intervalMs=5", expect: 400, code: "bad_request" });
  await call(rec, { method: "GET", route: TL, url: "/api/shows/nope/timeline?act=a", expect: 404, code: "unknown_show" });
  await call(plain, { method: "GET", route: TL, url: "/api/shows/demo/timeline?act=a", admin: true, expect: 409, code: "no_record" });
  const EX = `${S}/export`;
  const csv = (await call(rec, { method: "GET", route: EX, url: "/api/shows/oa/export", admin: true, expect: 200 })) as string;
  assert.ok(csv.split("\n").length > 3, "csv export has lines");
  await call(rec, { method: "GET", route: EX, url: "/api/shows/oa/export?format=json&raw=1", admin: true, expect: 200 });
  await call(rec, { method: "GET", route: EX, url: "/api/shows/oa/export?format=xml", admin: true, expect: 400, code: "bad_request" });
  await call(rec, { method: "GET", route: EX, url: "/api/shows/oa/export", expect: 401, code: "unauthorized" });
  await call(rec, { method: "GET", route: EX, url: "/api/shows/nope/export", admin: true, expect: 404, code: "unknown_show" });
  await call(plain, { method: "GET", route: EX, url: "/api/shows/demo/export", admin: true, expect: 409, code: "no_record" });
  // No EXPORT_SIGNING_KEY here: no key to publish.
  await call(rec, { method: "GET", route: "/api/export-key", url: "/api/export-key", expect: 404 });

  // Viewer tokens.
  const VT = "/api/viewer-tokens";
  await call(rec, { method: "POST", route: VT, url: VT, admin: true, body: { show: "oa", ttlSec: 60 }, expect: 200 });
  await call(rec, { method: "POST", route: VT, url: VT, admin: true, expect: 200 });
  await call(rec, { method: "POST", route: VT, url: VT, admin: true, body: { ttlSec: 0 }, expect: 400, code: "bad_request" });
  await call(rec, { method: "POST", route: VT, url: VT, body: {}, expect: 401, code: "unauthorized" });
  await call(rec, { method: "POST", route: VT, url: VT, admin: true, rawBody: `"${"x".repeat(20_000)}"`, expect: 413, code: "too_large" });
  await call(plain, { method: "POST", route: VT, url: VT, admin: true, body: {}, expect: 409, code: "tokens_disabled" });

  // Simultaneous admin changes from one version: at least one is saved, any other is a documented 409 conflict.
  const racing = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const res = await fetch(`${rec.url}/api/shows/oa/stage`, {
        method: "POST",
        headers: { authorization: `Bearer ${rec.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ act: "b", open: true }),
      });
      return { res, text: await res.text() };
    }),
  );
  for (const { res, text } of racing) {
    const expect = res.status === 409 ? 409 : 200;
    check({ method: "POST", route: ST, url: "/api/shows/oa/stage", expect, ...(expect === 409 ? { code: "conflict" } : {}) }, res, text);
  }
  assert.ok(
    racing.some((r) => r.res.status === 200),
    "one of the simultaneous changes is saved",
  );

  // Reset (last: it starts a new epoch).
  const RS = `${S}/reset`;
  await call(rec, { method: "POST", route: RS, url: "/api/shows/oa/reset", expect: 401, code: "unauthorized" });
  await call(rec, { method: "POST", route: RS, url: "/api/shows/nope/reset", admin: true, expect: 404, code: "unknown_show" });
  await call(rec, { method: "POST", route: RS, url: "/api/shows/bad!id/reset", admin: true, expect: 400, code: "bad_request" });
  await call(rec, { method: "POST", route: RS, url: "/api/shows/oa/reset", admin: true, expect: 200 });
  // The epoch before the reset: admin only.
  const past = `/api/shows/oa/timeline?act=a&epoch=${state.epoch}`;
  await call(rec, { method: "GET", route: TL, url: past, expect: 401, code: "unauthorized" });
  await call(rec, { method: "GET", route: TL, url: past, admin: true, expect: 200 });
  await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline?act=a&intervalMs=1500", expect: 400, code: "bad_request" });
  await call(rec, { method: "GET", route: TL, url: "/api/shows/oa/timeline?act=a&intervalMs=1500", admin: true, expect: 200 });

  // Public reads over PUBLIC_READ_RATE_PER_IP (1/s, burst 2): 429 with Retry-After.
  const limited = await pollUntil(
    async () => {
      const res = await fetch(`${plain.url}/api/shows/demo`);
      return { res, text: await res.text() };
    },
    (r) => r.res.status === 429,
    "a 429 from the per-address limit",
    10_000,
    0,
  );
  assert.ok(Number(limited.res.headers.get("retry-after")) >= 1, "Retry-After");
  check({ method: "GET", route: S, url: "/api/shows/demo", expect: 429, code: "rate_limited" }, limited.res, limited.text);

  // The record gone: readiness says so (503) and the audit answers 503 record_unavailable.
  await db.stop();
  await pollUntil(
    async () => (await fetch(`${rec.url}/readyz`)).status,
    (s) => s === 503,
    "/readyz 503 once MariaDB is gone",
    30_000,
  );
  await call(rec, { method: "GET", route: "/readyz", url: "/readyz", expect: 503 });
  await call(rec, { method: "GET", route: AU, url: "/api/shows/oa/audit", admin: true, expect: 503, code: "record_unavailable" });

  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
  assert.deepEqual(
    documented.filter((op) => !called.has(op)),
    [],
    "every documented operation was called",
  );
});
