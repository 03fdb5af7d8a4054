/**
 * The count you can prove, over HTTP (docs/protocol.md, docs/operations.md):
 *  - GET /api/shows/:show/audit (admin): per act, live == record == audit log?
 *  - GET /api/shows/:show/timeline?act= (public, like the totals on air): counted buzzes per interval;
 *    answers are shared per node for TIMELINE_CACHE_MS, so an audience polling it costs the record
 *    one query per (show, epoch, act, interval) per node per second, whatever the number of callers.
 *    The public may ask only the current epoch and a fixed set of intervals (public-reads.ts), so
 *    that bound holds whatever they send; queries go to the record's public pool.
 *  - GET /api/shows/:show/export?format=csv|json[&raw=1] (admin): the sealed, streamed export.
 * Each takes `?epoch=` for an earlier epoch (default: the current one). Without a durable record
 * (no MYSQL_URL) they answer 409 `no_record`.
 *  - GET /api/export-key (public): the export signing key's public half, SPKI PEM; 404
 *    `no_signing_key` when EXPORT_SIGNING_KEY_FILE is not set.
 */
import { Id } from "../../shared/protocol.ts";
import { exportChunks, type AuditSource } from "../audit/export-stream.ts";
import { CONTENT_TYPE, type ExportFormat } from "../audit/export-format.ts";
import { ExportSigner } from "../audit/export-signer.ts";
import { PseudonymKeys } from "../audit/pseudonym.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../ops/logger.ts";
import type { Metrics } from "../ops/metrics.ts";
import { RecordError, type PublicRecordReads } from "../record/record.ts";
import type { ShowRegistry } from "../shows/show-registry.ts";
import type { Show } from "../shows/show.ts";
import { streamBody } from "./http-stream.ts";
import { HttpError, send, sendJson, type Guarded, type Routes } from "./http-util.ts";
import type { PublicReadGate } from "./public-reads.ts";
import { TimelineCache } from "./timeline-cache.ts";
import type { HttpRequest, TemplatedApp } from "./uws.ts";

export interface AuditApiDeps {
  /** The durable record; null without MYSQL_URL. */
  source: AuditSource | null;
  nodeId: string;
  /** Default timeline bucket: the persist interval. */
  intervalMs: number;
  /** The Ed25519 export key (EXPORT_SIGNING_KEY_FILE); null: exports carry a digest only. */
  signer: ExportSigner | null;
  pseudonyms: PseudonymKeys;
  policy: Config["BUZZ_POLICY"];
  /** The record's pool for public reads (the public timeline); default: `source`. */
  publicSource?: Pick<PublicRecordReads, "timeline">;
}

/** The audit routes' dependencies from the config and the record (node.ts). main.ts checked the key file at start (exit 2 if bad). */
export function auditApiDeps(
  cfg: Config,
  record: AuditSource | null,
  log: Logger,
  publicSource?: Pick<PublicRecordReads, "timeline">,
): AuditApiDeps {
  const signer = cfg.EXPORT_SIGNING_KEY_FILE === undefined ? null : ExportSigner.fromFile(cfg.EXPORT_SIGNING_KEY_FILE);
  if (record !== null && signer === null) log.warn("no EXPORT_SIGNING_KEY_FILE: exports carry a digest but no signature");
  return {
    source: record,
    nodeId: cfg.NODE_ID,
    intervalMs: cfg.PERSIST_INTERVAL_MS,
    signer,
    pseudonyms: new PseudonymKeys(cfg.EXPORT_PSEUDONYM_KEY, record),
    policy: cfg.BUZZ_POLICY,
    ...(publicSource === undefined ? {} : { publicSource }),
  };
}

interface Deps {
  shows: ShowRegistry;
  live(show: Show): { readonly totals: Readonly<Record<string, number>> };
  metrics: Metrics;
  log: Logger;
  audit: AuditApiDeps | null;
  publicReads: PublicReadGate;
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_INTERVAL_MS = 3_600_000;

export function attachAuditRoutes(app: TemplatedApp, r: Routes, d: Deps): void {
  const counters = { exports: 0, exportRows: 0, exportFailures: 0, timelineQueries: 0 };
  d.metrics.addCollector(() => [
    { name: "buzzcast_exports_total", help: "Audit exports completed.", kind: "counter", samples: [{ value: counters.exports }] },
    {
      name: "buzzcast_export_failures_total",
      help: "Audit exports cut short.",
      kind: "counter",
      samples: [{ value: counters.exportFailures }],
    },
    {
      name: "buzzcast_timeline_record_queries_total",
      help: "Timeline queries sent to the record (after the per-node cache).",
      kind: "counter",
      samples: [{ value: counters.timelineQueries }],
    },
  ]);
  const timelines = new TimelineCache(() => counters.timelineQueries++);

  /** Show, epoch and record for a request; 404 / 400 / 409 as documented. */
  const target = async (req: HttpRequest, query: URLSearchParams) => {
    const id = r.showIdParam(req);
    const audit = d.audit;
    const show = await d.shows.find(id);
    if (!show) throw new HttpError(404, "unknown_show", `no show ${id}`);
    if (audit === null || audit.source === null)
      throw new HttpError(409, "no_record", "this server keeps no durable record (MYSQL_URL is not set): nothing to audit");
    const epoch = query.get("epoch") ?? show.epoch;
    if (!EPOCH.test(epoch)) throw new HttpError(400, "bad_request", "epoch: 1-64 of A-Z a-z 0-9 _ -");
    return { show, epoch, audit, source: audit.source };
  };

  app.get(
    "/api/export-key",
    r.route(async (g) => {
      const signer = d.audit?.signer ?? null;
      if (signer === null) throw new HttpError(404, "no_signing_key", "this server signs no exports (EXPORT_SIGNING_KEY_FILE is not set)");
      send(g, 200, "application/x-pem-file", signer.publicPem, {
        "cache-control": "no-cache",
        "x-buzzcast-key-fingerprint": signer.fingerprint,
      });
    }),
  );

  app.get(
    "/api/shows/:show/audit",
    r.route(async (g, req) => {
      r.requireAdmin(req);
      const { show, epoch, source } = await target(req, new URLSearchParams(req.getQuery()));
      const live = epoch === show.epoch ? d.live(show).totals : null;
      const [record, logged] = await Promise.all([source.countTotals(show.id, epoch), source.auditTotals(show.id, epoch)]);
      const ids = new Set([...show.info.acts.map((a) => a.id), ...record.keys(), ...logged.keys()]);
      const acts: Record<string, { live: number | null; record: number; logged: number; match: boolean }> = {};
      for (const act of ids) {
        const rec = record.get(act) ?? 0;
        const log = logged.get(act) ?? 0;
        const l = live === null ? null : (live[act] ?? 0);
        acts[act] = { live: l, record: rec, logged: log, match: rec === log && (l === null || l === rec) };
      }
      sendJson(g, 200, { show: show.id, epoch, acts });
    }),
  );

  app.get(
    "/api/shows/:show/timeline",
    r.route(async (g, req) => {
      const adminCaller = r.admitPublic(g, req);
      const query = new URLSearchParams(req.getQuery());
      const { show, epoch, audit, source } = await target(req, query);
      d.publicReads.checkEpoch(epoch, show.epoch, adminCaller);
      const act = query.get("act") ?? "";
      if (!Id.safeParse(act).success) throw new HttpError(400, "bad_request", "act: 1-64 of A-Z a-z 0-9 _ -");
      if (!show.info.acts.some((a) => a.id === act)) throw new HttpError(400, "unknown_act", `no act ${act} in show ${show.id}`);
      const intervalMs = intervalParam(query.get("intervalMs"), audit.intervalMs);
      d.publicReads.checkInterval(intervalMs, adminCaller);
      const points = await timelines.get(audit.publicSource ?? source, show.id, epoch, act, intervalMs).catch((err: unknown) => {
        if (err instanceof RecordError && err.code === "unreachable") d.publicReads.recordUnavailable();
        throw err;
      });
      sendJson(g, 200, { show: show.id, epoch, act, intervalMs, points });
    }),
  );

  app.get(
    "/api/shows/:show/export",
    r.route(async (g, req) => {
      r.requireAdmin(req);
      const query = new URLSearchParams(req.getQuery());
      const format = query.get("format") ?? "csv";
      if (format !== "csv" && format !== "json") throw new HttpError(400, "bad_request", "format: csv or json");
      const raw = query.get("raw") === "1";
      const { show, epoch, audit, source } = await target(req, query);
      await streamExport(g, d, counters, { show, epoch, audit, source, format, raw });
    }),
  );
}

interface ExportJob {
  show: Show;
  epoch: string;
  audit: AuditApiDeps;
  source: AuditSource;
  format: ExportFormat;
  raw: boolean;
}

async function streamExport(g: Guarded, d: Deps, counters: { exports: number; exportFailures: number }, j: ExportJob): Promise<void> {
  const started = Date.now();
  const pseudonyms = j.raw ? null : await j.audit.pseudonyms.get();
  const chunks = exportChunks(j.source, {
    format: j.format,
    header: {
      show: j.show.id,
      epoch: j.epoch,
      node: j.audit.nodeId,
      generatedAt: new Date(started).toISOString(),
      viewerIds: j.raw ? "raw" : "pseudonymised",
      policy: j.audit.policy,
      openAct: j.epoch === j.show.epoch && j.show.stage.open ? j.show.stage.act : null,
    },
    acts: j.show.info.acts.map((a) => a.id),
    pseudonyms,
    signer: j.audit.signer,
  });
  const headers = {
    "cache-control": "no-store",
    "content-disposition": `attachment; filename="buzzcast-${j.show.id}-${j.epoch}.${j.format === "csv" ? "csv" : "ndjson"}"`,
    "x-buzzcast-digest": "sha256; of every byte before the last line; the value is in the last line",
    "x-buzzcast-signature":
      j.audit.signer === null ? "none" : `ed25519 of the sha256 digest; key ${j.audit.signer.fingerprint}; the value is in the last line`,
    "x-buzzcast-viewer-ids": pseudonyms === null ? "raw" : `pseudonymised; hmac-sha256; key ${pseudonyms.source}`,
  };
  try {
    await streamBody(g, CONTENT_TYPE[j.format], headers, chunks);
  } catch (err) {
    counters.exportFailures++;
    throw err;
  }
  if (g.aborted) {
    counters.exportFailures++;
    d.log.warn("export aborted by the client", { show: j.show.id, epoch: j.epoch });
    return;
  }
  counters.exports++;
  d.log.info("export sent", { show: j.show.id, epoch: j.epoch, format: j.format, raw: j.raw, ms: Date.now() - started });
}

function intervalParam(v: string | null, dflt: number): number {
  if (v === null) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > MAX_INTERVAL_MS)
    throw new HttpError(400, "bad_request", `intervalMs: an integer in 100-${MAX_INTERVAL_MS}`);
  return n;
}
