/**
 * Audit, timeline and export over HTTP against a real server on a real MariaDB. The audit log is
 * written the way nodes write it (MysqlRecord.persistCounts with audit rows, from two "other
 * nodes"), then the server reconciles its live totals when voting closes. The export is signed with
 * an Ed25519 key made by the real `openssl genpkey`; it is checked with `buzzcast-verify` and with
 * the exact openssl one-liner of docs/operations.md, run by bash: the seal verifies with the public
 * key from GET /api/export-key, a tampered file does not, per act the rows add up to the total and
 * to what the server put on air.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MysqlRecord } from "../server/record/mysql-record.ts";
import type { AuditEntry, CountRow } from "../server/record/record.ts";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";

const SHOW = "gala";
const PERSIST_MS = 200;
const A1_VIEWERS = 1500;
const ODD = ["v:has,comma", 'v:has"quote', "v:ünïcødé"];

let db: MariaDb;
let srv: RunningServer;
let unsigned: RunningServer;
let plain: RunningServer;
let otherDb: RunningServer;
let epoch = "";
let dir = "";
let keyFile = "";
let otherUrl = "";

before(async () => {
  db = await startMariaDb();
  dir = mkdtempSync(join(tmpdir(), "buzzcast-export-"));
  keyFile = join(dir, "operator-private.pem");
  execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyFile]);
  const env = { MYSQL_URL: db.url, TICK_MS: "50", PERSIST_INTERVAL_MS: String(PERSIST_MS), DEMO_SHOW: "false" };
  srv = await startServer({ ...env, EXPORT_SIGNING_KEY_FILE: keyFile });
  [unsigned, plain, otherDb] = await Promise.all([
    startServer(env),
    startServer({ TICK_MS: "50" }),
    startServer({ ...env, MYSQL_URL: (otherUrl = db.freshUrl()), EXPORT_SIGNING_KEY_FILE: keyFile }),
  ]);
  await admin(srv, "PUT", `/api/shows/${SHOW}`, { title: "Gala", acts: ["a1", "a2", "a3"].map((id) => ({ id, name: id })) });
  epoch = ((await admin(srv, "GET", `/api/shows/${SHOW}`)) as { epoch: string }).epoch;
  await seed();
  // Open and close each act: the node reconciles its live totals with the record once closed.
  for (const act of ["a1", "a2", "a3"]) await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act, open: true });
  await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act: null, open: false });
});
after(async () => {
  for (const s of [srv, unsigned, plain, otherDb]) assert.equal(await s?.stop(), 0);
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
    return execFileSync("bash", ["-c", doc[at + 1]!], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", stdio: "pipe" });
  } catch (err) {
    return `exit ${(err as { status: number }).status}: ${(err as { stdout: string }).stdout}`;
  }
}

const VERIFY = new URL("../verify/bin/buzzcast-verify.mjs", import.meta.url).pathname;
function verify(file: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [VERIFY, file, "--key", "buzzcast-export-key.pem"], { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

function tamper(file: string): void {
  const text = readFileSync(join(dir, file), "utf8");
  writeFileSync(join(dir, file), text.replace("a1,", "a2,").replace('"a1"', '"a2"'));
}

/** Every closed act's on-air row has reached the record's total (the reconciliation raised live, the node recorded the frame). */
async function onAirSettled(): Promise<void> {
  await waitFor(
    async () => {
      const { text } = await download(srv, "format=csv", "probe.csv");
      const on = [...text.matchAll(/^onair,(a[12]),\d+,(\d+),/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
      return on.join() === `a1 ${A1_VIEWERS},a2 ${ODD.length}`;
    },
    { what: "on-air totals of a1 and a2 equal to the record" },
  );
}

test("GET /api/export-key: the public key as SPKI PEM, no auth; 404 no_signing_key without a key", async () => {
  const res = await fetch(`${srv.url}/api/export-key`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-pem-file");
  const pem = await res.text();
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
  writeFileSync(join(dir, "buzzcast-export-key.pem"), pem);
  const fp = execFileSync("bash", ["-c", "openssl pkey -pubin -in buzzcast-export-key.pem -outform DER | sha256sum | cut -c1-64"], {
    cwd: dir,
    encoding: "utf8",
  }).trim();
  assert.equal(res.headers.get("x-buzzcast-key-fingerprint"), `SHA256:${fp}`, "the fingerprint openssl computes");
  const none = await fetch(`${unsigned.url}/api/export-key`);
  assert.equal(none.status, 404);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, "no_signing_key");
});

test("CSV export: the seal verifies with buzzcast-verify and the documented openssl one-liner; rows and on-air add up; pseudonymised", async () => {
  await onAirSettled();
  const { text, headers } = await download(srv, "format=csv", "export.csv");
  assert.match(headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(headers.get("x-buzzcast-signature") ?? "", /^ed25519/);
  assert.equal(runDocumented("verify a CSV export's seal with openssl").trim(), "Signature Verified Successfully");
  const v = verify("export.csv");
  assert.equal(v.code, 1, "a3 was counted without audit rows");
  assert.deepEqual(v.out.trimEnd().split("\n").slice(0, 3), [
    `a1 ${A1_VIEWERS} ${A1_VIEWERS} OK`,
    `a2 ${ODD.length} ${ODD.length} OK`,
    "a3 7 0 MISMATCH",
  ]);
  assert.match(v.out, /FAILED: a3: the record's total is 7 but its buzz rows add up to 0/);

  const lines = text.trimEnd().split("\n");
  assert.match(lines[0]!, new RegExp(`^#buzzcast-export/2,show=${SHOW},epoch=${epoch},.*viewerIds=pseudonymised,.*policy=once`));
  assert.equal(lines[1], "kind,act,at_ms,count,node,viewer");
  const buzz = lines.filter((l) => l.startsWith("buzz,"));
  assert.equal(buzz.length, A1_VIEWERS + ODD.length);
  const a1 = buzz.filter((l) => l.startsWith("buzz,a1,")).map((l) => l.split(",")[5]!);
  assert.ok(a1.every((p) => /^p_[0-9a-f]{32}$/.test(p)));
  assert.equal(new Set(a1).size, A1_VIEWERS, "distinct viewers stay distinct");
  assert.ok(!text.includes("viewer-1"), "no raw id in a pseudonymised export");
  assert.match(lines[0]!, /pseudonymKey=record/);
  const again = await download(unsigned, "format=csv", "again.csv");
  assert.ok(again.text.includes(a1[0]!), "the same pseudonym from another node on the same record");
  // The key is the random one each record keeps (not derived from the signing key both servers share).
  await admin(otherDb, "PUT", `/api/shows/${SHOW}`, { title: "Gala", acts: [{ id: "a1", name: "a1" }] });
  await download(otherDb, "format=csv", "other.csv");
  const secret = async (url: string) =>
    (
      await db.query<Array<{ secret_hex: string }>>(
        `SELECT secret_hex FROM \`${new URL(url).pathname.slice(1)}\`.fleet_secrets WHERE name = 'export_pseudonym'`,
      )
    )[0]?.secret_hex;
  const [ours, theirs] = [await secret(db.url), await secret(otherUrl)];
  assert.ok(ours !== undefined && theirs !== undefined && ours !== theirs, "one random key per record");
  const p0 = "p_" + createHmac("sha256", Buffer.from(ours, "hex")).update("v:viewer-0").digest("hex").slice(0, 32);
  assert.ok(a1.includes(p0), "pseudonyms are keyed by the record's random key");

  tamper("export.csv");
  assert.notEqual(runDocumented("verify a CSV export's seal with openssl").trim(), "Signature Verified Successfully", "tampered file");
  assert.match(verify("export.csv").out, /FAILED: the SHA-256 of the body/);
});

test("raw export: a viewer id with a comma or a quote is quoted per RFC 4180 and the verifier reads it as one field", async () => {
  const { text } = await download(srv, "format=csv&raw=1", "export.csv");
  assert.ok(text.includes("v:viewer-0\n"));
  assert.ok(text.includes(',"v:has,comma"\n'));
  assert.ok(text.includes(',"v:has""quote"\n'));
  assert.ok(text.includes(",v:ünïcødé\n"));
  assert.match(verify("export.csv").out, new RegExp(`^a2 ${ODD.length} ${ODD.length} OK$`, "m"));
});

test("JSON Lines export verifies with buzzcast-verify and its openssl one-liner", async () => {
  const { text, headers } = await download(srv, "format=json", "export.ndjson");
  assert.match(headers.get("content-type") ?? "", /^application\/x-ndjson/);
  const objs = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; act?: string; count?: number });
  assert.equal(objs[0]?.type, "export");
  assert.equal(objs.at(-1)?.type, "seal");
  assert.equal(objs.filter((o) => o.type === "buzz").length, A1_VIEWERS + ODD.length);
  assert.equal(runDocumented("verify a JSON export's seal with openssl").trim(), "Signature Verified Successfully");
  assert.match(verify("export.ndjson").out, new RegExp(`^a1 ${A1_VIEWERS} ${A1_VIEWERS} OK$`, "m"));
  tamper("export.ndjson");
  assert.notEqual(runDocumented("verify a JSON export's seal with openssl").trim(), "Signature Verified Successfully");
});

test("without EXPORT_SIGNING_KEY_FILE: unsigned (says so); without MYSQL_URL: 409 no_record; the old EXPORT_SIGNING_KEY refuses to start", async () => {
  const { headers, text } = await download(unsigned, "format=csv", "export.csv");
  assert.equal(headers.get("x-buzzcast-signature"), "none");
  assert.match(text.trimEnd().split("\n").at(-1)!, /^#seal,sha256=[0-9a-f]{64},ed25519=none,key=none$/);
  assert.match(verify("export.csv").out, /FAILED: the export is not signed/);

  const auth = { authorization: `Bearer ${plain.adminToken}` };
  for (const path of ["/api/shows/demo/audit", "/api/shows/demo/timeline?act=act-1", "/api/shows/demo/export"]) {
    const res = await fetch(plain.url + path, { headers: auth });
    assert.equal(res.status, 409, path);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "no_record");
  }
  const bad = await fetch(`${srv.url}/api/shows/${SHOW}/export?format=xml`, { headers: { authorization: `Bearer ${srv.adminToken}` } });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${srv.url}/api/shows/${SHOW}/export`)).status, 401, "admin only");

  const old = spawnSync(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, PORT: "0", EXPORT_SIGNING_KEY: "export-signing-key-0123456789-abcdefghij" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(old.status, 2, old.stderr);
  assert.match(old.stderr, /EXPORT_SIGNING_KEY=\(redacted\): .*set EXPORT_SIGNING_KEY_FILE/);
  assert.doesNotMatch(old.stderr, /abcdefghij/, "the old secret is not echoed");
  const notEd = join(dir, "rsa.pem");
  execFileSync("openssl", ["genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", notEd], { stdio: "pipe" });
  const rsa = spawnSync(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, PORT: "0", EXPORT_SIGNING_KEY_FILE: notEd },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(rsa.status, 2, rsa.stderr);
  assert.match(rsa.stderr, /EXPORT_SIGNING_KEY_FILE=.*an ed25519 key is required/);
});
