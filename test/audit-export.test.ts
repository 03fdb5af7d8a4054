/**
 * Audit, timeline and export over HTTP against a real server on a real MariaDB. The audit log is
 * written the way nodes write it (MysqlRecord.persistCounts with audit rows, from two "other
 * nodes"), then the server reconciles its live totals when voting closes. The export is checked
 * with the exact one-liners of docs/operations.md, run by bash: digest and signature verify, a
 * tampered file does not, and per act the rows add up to the total.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MysqlRecord } from "../server/record/mysql-record.ts";
import type { AuditEntry, CountRow } from "../server/record/record.ts";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";

const KEY = "export-signing-key-0123456789-abcdefghij";
const SHOW = "gala";
const PERSIST_MS = 200;
const A1_VIEWERS = 1500;
const ODD = ["v:has,comma", 'v:has"quote', "v:ünïcødé"];

let db: MariaDb;
let srv: RunningServer;
let unsigned: RunningServer;
let plain: RunningServer;
let epoch = "";
let dir = "";

before(async () => {
  db = await startMariaDb();
  dir = mkdtempSync(join(tmpdir(), "buzzcast-export-"));
  const env = { MYSQL_URL: db.url, TICK_MS: "50", PERSIST_INTERVAL_MS: String(PERSIST_MS), DEMO_SHOW: "false" };
  srv = await startServer({ ...env, EXPORT_SIGNING_KEY: KEY });
  [unsigned, plain] = await Promise.all([startServer(env), startServer({ TICK_MS: "50" })]);
  await admin(srv, "PUT", `/api/shows/${SHOW}`, { title: "Gala", acts: ["a1", "a2", "a3"].map((id) => ({ id, name: id })) });
  epoch = ((await admin(srv, "GET", `/api/shows/${SHOW}`)) as { epoch: string }).epoch;
  await seed();
  // Open and close each act: the node reconciles its live totals with the record once closed.
  for (const act of ["a1", "a2", "a3"]) await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act, open: true });
  await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act: null, open: false });
});
after(async () => {
  for (const s of [srv, unsigned, plain]) assert.equal(await s?.stop(), 0);
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Two nodes' batches: a1 with A1_VIEWERS viewers over ~3 s, a2 with odd raw ids; a3 counted WITHOUT audit rows. */
async function seed(): Promise<void> {
  const rec = new MysqlRecord(db.url);
  const t0 = Date.now() - 3000;
  const entry = (act: string, viewer: string, atMs: number): AuditEntry => ({ show: SHOW, epoch, act, viewer, atMs, count: 1 });
  const batches: Array<{ node: string; once: AuditEntry[]; extra: CountRow[] }> = [
    { node: "seed-n1", once: [], extra: [] },
    { node: "seed-n2", once: [], extra: [] },
  ];
  for (let i = 0; i < A1_VIEWERS; i++) batches[i % 2]!.once.push(entry("a1", `v:viewer-${i}`, t0 + Math.floor((i * 3000) / A1_VIEWERS)));
  ODD.forEach((v, i) => batches[0]!.once.push(entry("a2", v, t0 + 10 * i)));
  batches[1]!.extra.push({ show: SHOW, epoch, act: "a3", delta: 7 });
  for (const [i, b] of batches.entries()) {
    const rows = new Map<string, number>();
    for (const e of b.once) rows.set(e.act, (rows.get(e.act) ?? 0) + 1);
    await rec.persistCounts({
      node: b.node,
      batchSeq: 1,
      rows: [...rows].map(([act, delta]) => ({ show: SHOW, epoch, act, delta })),
      once: b.once,
    });
    if (b.extra.length > 0) await rec.persistCounts({ node: b.node, batchSeq: 2 + i, rows: b.extra });
  }
  await rec.close();
}

type AuditActs = Record<string, { live: number | null; record: number; logged: number; match: boolean }>;

test("audit: live == record == logged per act once voting closed; an act without audit rows does not match", async () => {
  let acts: AuditActs = {};
  await waitFor(
    async () => {
      acts = ((await admin(srv, "GET", `/api/shows/${SHOW}/audit`)) as { acts: AuditActs }).acts;
      return acts.a1?.live === A1_VIEWERS && acts.a2?.live === ODD.length;
    },
    { what: "live totals reconciled with the record" },
  );
  const body = (await admin(srv, "GET", `/api/shows/${SHOW}/audit`)) as { show: string; epoch: string; acts: AuditActs };
  assert.equal(body.show, SHOW);
  assert.equal(body.epoch, epoch);
  assert.deepEqual(body.acts.a1, { live: A1_VIEWERS, record: A1_VIEWERS, logged: A1_VIEWERS, match: true });
  assert.deepEqual(body.acts.a2, { live: ODD.length, record: ODD.length, logged: ODD.length, match: true });
  assert.equal(body.acts.a3?.record, 7);
  assert.equal(body.acts.a3?.logged, 0);
  assert.equal(body.acts.a3?.match, false);
  assert.equal((await fetch(`${srv.url}/api/shows/${SHOW}/audit`)).status, 401, "admin only");
});

test("timeline: public, counts add up to the act's total, buckets are multiples of the interval", async () => {
  for (const q of ["", "&intervalMs=1000", "&intervalMs=3600000"]) {
    const res = await fetch(`${srv.url}/api/shows/${SHOW}/timeline?act=a1${q}`);
    assert.equal(res.status, 200);
    const t = (await res.json()) as { show: string; epoch: string; act: string; intervalMs: number; points: Array<[number, number]> };
    assert.equal(t.act, "a1");
    assert.equal(t.epoch, epoch);
    assert.equal(t.intervalMs, q === "" ? PERSIST_MS : Number(q.split("=")[1]));
    assert.equal(
      t.points.reduce((s, [, n]) => s + n, 0),
      A1_VIEWERS,
    );
    for (const [at] of t.points) assert.equal(at % t.intervalMs, 0);
    if (q === "") assert.ok(t.points.length >= 10, `~3 s of buzzes at ${PERSIST_MS} ms: ${t.points.length} points`);
  }
  const code = async (path: string) => ((await (await fetch(srv.url + path)).json()) as { error: { code: string } }).error.code;
  assert.equal(await code(`/api/shows/${SHOW}/timeline?act=zz`), "unknown_act");
  assert.equal(await code(`/api/shows/${SHOW}/timeline`), "bad_request");
  assert.equal(await code(`/api/shows/${SHOW}/timeline?act=a1&intervalMs=5`), "bad_request");
  assert.equal(await code(`/api/shows/nope/timeline?act=a1`), "unknown_show");
});

/** Download an export to a file in the temp dir; returns its text and headers. */
async function download(server: RunningServer, query: string, file: string): Promise<{ text: string; headers: Headers }> {
  const res = await fetch(`${server.url}/api/shows/${SHOW}/export?${query}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  assert.equal(res.status, 200, await res.clone().text());
  const text = await res.text();
  writeFileSync(join(dir, file), text);
  return { text, headers: res.headers };
}

/** The one-liner that follows `# <title>` in docs/operations.md, run by bash in the temp dir. */
function runDocumented(title: string, env: Record<string, string> = {}): string {
  const doc = readFileSync(new URL("../docs/operations.md", import.meta.url), "utf8").split("\n");
  const at = doc.indexOf(`# ${title}`);
  assert.ok(at >= 0, `docs/operations.md documents "${title}"`);
  try {
    return execFileSync("bash", ["-c", doc[at + 1]!], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" });
  } catch (err) {
    return `exit ${(err as { status: number }).status}: ${(err as { stdout: string }).stdout}`;
  }
}

function tamper(file: string): void {
  const text = readFileSync(join(dir, file), "utf8");
  writeFileSync(join(dir, file), text.replace("a1,", "a2,").replace('"a1"', '"a2"'));
}

test("CSV export: digest and signature verify with the documented command; rows add up; pseudonymised by default", async () => {
  const { text, headers } = await download(srv, "format=csv", "export.csv");
  assert.match(headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(headers.get("x-buzzcast-digest") ?? "", /^sha256/);
  assert.match(headers.get("x-buzzcast-signature") ?? "", /^hmac-sha256/);
  assert.equal(runDocumented("verify a signed CSV export", { EXPORT_SIGNING_KEY: KEY }).trim(), "VERIFIED");
  assert.notEqual(runDocumented("verify a signed CSV export", { EXPORT_SIGNING_KEY: KEY + "x" }).trim(), "VERIFIED", "wrong key");
  const check = runDocumented("check a CSV export's totals").trim().split("\n").sort();
  assert.deepEqual(check, [`a1 ${A1_VIEWERS} ${A1_VIEWERS} OK`, `a2 ${ODD.length} ${ODD.length} OK`, "a3 7 0 MISMATCH"]);

  const lines = text.trimEnd().split("\n");
  assert.match(lines[0]!, new RegExp(`^#buzzcast-export/1,show=${SHOW},epoch=${epoch},.*viewerIds=pseudonymised`));
  assert.equal(lines[1], "kind,act,at_ms,count,node,viewer");
  const buzz = lines.filter((l) => l.startsWith("buzz,"));
  assert.equal(buzz.length, A1_VIEWERS + ODD.length);
  const a1 = buzz.filter((l) => l.startsWith("buzz,a1,")).map((l) => l.split(",")[5]!);
  assert.ok(a1.every((p) => /^p_[0-9a-f]{32}$/.test(p)));
  assert.equal(new Set(a1).size, A1_VIEWERS, "distinct viewers stay distinct");
  assert.ok(!text.includes("viewer-1"), "no raw id in a pseudonymised export");
  const again = await download(srv, "format=csv", "again.csv");
  assert.ok(again.text.includes(a1[0]!), "the same pseudonym in every export (key derived from EXPORT_SIGNING_KEY)");

  tamper("export.csv");
  assert.notEqual(runDocumented("verify a signed CSV export", { EXPORT_SIGNING_KEY: KEY }).trim(), "VERIFIED", "tampered file");
});

test("raw export: plain ids, RFC 4180 quoting, still verifies and adds up", async () => {
  const { text } = await download(srv, "format=csv&raw=1", "export.csv");
  assert.ok(text.includes("v:viewer-0\n"));
  assert.ok(text.includes(',"v:has,comma"\n'));
  assert.ok(text.includes(',"v:has""quote"\n'));
  assert.ok(text.includes(",v:ünïcødé\n"));
  assert.equal(runDocumented("verify a signed CSV export", { EXPORT_SIGNING_KEY: KEY }).trim(), "VERIFIED");
  assert.match(runDocumented("check a CSV export's totals"), new RegExp(`a1 ${A1_VIEWERS} ${A1_VIEWERS} OK`));
});

test("JSON Lines export verifies with its command; jq check adds up", async () => {
  const { text, headers } = await download(srv, "format=json", "export.ndjson");
  assert.match(headers.get("content-type") ?? "", /^application\/x-ndjson/);
  const objs = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; act?: string; count?: number });
  assert.equal(objs[0]?.type, "export");
  assert.equal(objs.at(-1)?.type, "seal");
  assert.equal(objs.filter((o) => o.type === "buzz").length, A1_VIEWERS + ODD.length);
  assert.equal(runDocumented("verify a signed JSON export", { EXPORT_SIGNING_KEY: KEY }).trim(), "VERIFIED");
  const check = runDocumented("check a JSON export's totals").trim().split("\n").sort();
  assert.deepEqual(check, [`a1 ${A1_VIEWERS} ${A1_VIEWERS} OK`, `a2 ${ODD.length} ${ODD.length} OK`, "a3 7 0 MISMATCH"]);
  tamper("export.ndjson");
  assert.notEqual(runDocumented("verify a signed JSON export", { EXPORT_SIGNING_KEY: KEY }).trim(), "VERIFIED");
});

test("without EXPORT_SIGNING_KEY: unsigned (says so), digest verifies; without MYSQL_URL: 409 no_record", async () => {
  const { headers } = await download(unsigned, "format=csv", "export.csv");
  assert.equal(headers.get("x-buzzcast-signature"), "none");
  assert.equal(runDocumented("verify an unsigned CSV export").trim(), "VERIFIED");
  assert.match(readFileSync(join(dir, "export.csv"), "utf8"), /pseudonymKey=per_process/);

  const auth = { authorization: `Bearer ${plain.adminToken}` };
  for (const path of ["/api/shows/demo/audit", "/api/shows/demo/timeline?act=act-1", "/api/shows/demo/export"]) {
    const res = await fetch(plain.url + path, { headers: auth });
    assert.equal(res.status, 409, path);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "no_record");
  }
  const bad = await fetch(`${srv.url}/api/shows/${SHOW}/export?format=xml`, { headers: { authorization: `Bearer ${srv.adminToken}` } });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${srv.url}/api/shows/${SHOW}/export`)).status, 401, "admin only");
});
