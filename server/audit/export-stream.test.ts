import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { MemoryRecord } from "../record/memory-record.ts";
import type { AuditEntry } from "../record/record.ts";
import { ExportSigner, keyFingerprint } from "./export-signer.ts";
import { exportChunks } from "./export-stream.ts";
import { PseudonymKeys } from "./pseudonym.ts";

const PEM = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

async function seeded(viewers: number): Promise<MemoryRecord> {
  const rec = new MemoryRecord();
  await rec.migrate();
  const once: AuditEntry[] = Array.from({ length: viewers }, (_, i) => ({
    show: "s",
    epoch: "e",
    act: i % 3 === 0 ? "b" : "a",
    viewer: `v:${i}`,
    atMs: 1000 + i,
    count: 1,
  }));
  const rows = ["a", "b"].map((act) => ({ show: "s", epoch: "e", act, delta: once.filter((o) => o.act === act).length }));
  await rec.persistCounts({ node: "n1", batchSeq: 1, rows, once });
  await rec.recordOnAir([{ show: "s", epoch: "e", act: "a", node: "n1", total: 67, atMs: 5000, closedAtMs: 4000 }]);
  return rec;
}

async function collect(it: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const header = {
  show: "s",
  epoch: "e",
  node: "n1",
  generatedAt: "2026-01-01T00:00:00.000Z",
  viewerIds: "pseudonymised" as const,
  policy: "once" as const,
  openAct: null,
};

test("paged export: every row exactly once across page boundaries; the seal signs the digest of every byte before it", async () => {
  const rec = await seeded(101);
  const signer = ExportSigner.fromPem(PEM);
  const pseudonyms = await new PseudonymKeys(undefined, rec).get();
  const chunks = await collect(exportChunks(rec, { format: "csv", header, acts: ["a", "b"], pseudonyms, signer, pageSize: 7 }));
  assert.ok(chunks.length >= 101 / 7, "one chunk per page");
  const body = chunks.join("");
  const lines = body.trimEnd().split("\n");
  assert.match(lines[0]!, /^#buzzcast-export\/2,show=s,epoch=e,.*policy=once,openAct=none,signed=true,pseudonymKey=record$/);
  const buzz = lines.filter((l) => l.startsWith("buzz,"));
  assert.equal(buzz.length, 101);
  assert.equal(new Set(buzz.map((l) => l.split(",")[5])).size, 101, "distinct pseudonyms");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("total,") || l.startsWith("onair,")),
    ["onair,a,5000,67,n1,", "total,a,,67,,", "total,b,,34,,"],
  );
  const sealed = Buffer.from(body.slice(0, body.length - lines.at(-1)!.length - 1));
  const digest = createHash("sha256").update(sealed).digest();
  const m = /^#seal,sha256=([0-9a-f]{64}),ed25519=([A-Za-z0-9+/=]{88}),key=(SHA256:[0-9a-f]{64})$/.exec(lines.at(-1)!);
  assert.ok(m, lines.at(-1));
  assert.equal(m[1], digest.toString("hex"));
  const pub = createPublicKey(signer.publicPem);
  assert.ok(verify(null, digest, pub, Buffer.from(m[2]!, "base64")), "Ed25519 over the digest");
  assert.equal(m[3], keyFingerprint(pub));
  assert.ok(!body.includes("v:1"), "no raw ids");
});

test("unsigned export: digest only, the seal says none", async () => {
  const rec = await seeded(3);
  const chunks = await collect(exportChunks(rec, { format: "json", header, acts: ["a", "b"], pseudonyms: null, signer: null }));
  const seal = JSON.parse(chunks.join("").trimEnd().split("\n").at(-1)!) as { type: string; ed25519: unknown; key: unknown };
  assert.deepEqual([seal.type, seal.ed25519, seal.key], ["seal", null, null]);
});

test("pseudonyms: keyed, the record's random key is stable and shared, a configured key wins", async () => {
  const rec = new MemoryRecord();
  await rec.migrate();
  const a = await new PseudonymKeys(undefined, rec).get();
  const b = await new PseudonymKeys(undefined, rec).get(); // another node on the same record
  assert.equal(a.source, "record");
  assert.equal(a.of("v:x"), b.of("v:x"), "stable across exports and nodes");
  assert.notEqual(a.of("v:x"), a.of("v:y"));
  const other = new MemoryRecord();
  await other.migrate();
  assert.notEqual(a.of("v:x"), (await new PseudonymKeys(undefined, other).get()).of("v:x"), "random per record, not derived from anything");
  const configured = await new PseudonymKeys("k".repeat(32), rec).get();
  assert.equal(configured.source, "configured");
  assert.notEqual(configured.of("v:x"), a.of("v:x"));
  assert.match(a.of("v:x"), /^p_[0-9a-f]{32}$/);
});

test("signing key: only Ed25519 PKCS#8 PEM", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.throws(() => ExportSigner.fromPem(rsa), /ed25519 key is required/);
  assert.throws(() => ExportSigner.fromPem("nonsense"), /not a PEM private key/);
  assert.throws(() => ExportSigner.fromFile("/nonexistent/key.pem"), /cannot read/);
});
