import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { MemoryRecord } from "../record/memory-record.ts";
import type { AuditEntry } from "../record/record.ts";
import { exportChunks } from "./export-stream.ts";
import { Pseudonymiser } from "./pseudonym.ts";

const KEY = "k".repeat(32);

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
  openAct: null,
};

test("paged export: every row exactly once across page boundaries; the seal covers every byte before it", async () => {
  const rec = await seeded(101);
  const pseudonyms = new Pseudonymiser({ signingKey: KEY });
  const chunks = await collect(exportChunks(rec, { format: "csv", header, acts: ["a", "b"], pseudonyms, signingKey: KEY, pageSize: 7 }));
  assert.ok(chunks.length >= 101 / 7, "one chunk per page");
  const body = chunks.join("");
  const lines = body.trimEnd().split("\n");
  const buzz = lines.filter((l) => l.startsWith("buzz,"));
  assert.equal(buzz.length, 101);
  assert.equal(new Set(buzz.map((l) => l.split(",")[5])).size, 101, "distinct pseudonyms");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("total,")),
    ["total,a,,67,,", "total,b,,34,,"],
  );
  const sealed = body.slice(0, body.length - lines.at(-1)!.length - 1);
  const sha = createHash("sha256").update(sealed).digest("hex");
  const mac = createHmac("sha256", KEY).update(sealed).digest("hex");
  assert.equal(lines.at(-1), `#sha256=${sha},hmac-sha256=${mac}`);
  assert.ok(!body.includes("v:1"), "no raw ids");
});

test("pseudonyms: keyed, stable per key, derived key differs from a configured one", () => {
  const a = new Pseudonymiser({ signingKey: KEY });
  assert.equal(a.of("v:x"), new Pseudonymiser({ signingKey: KEY }).of("v:x"));
  assert.notEqual(a.of("v:x"), a.of("v:y"));
  assert.notEqual(a.of("v:x"), new Pseudonymiser({ pseudonymKey: KEY }).of("v:x"), "derived (HKDF) is not the signing key itself");
  assert.equal(new Pseudonymiser({}).source, "per_process");
  assert.match(a.of("v:x"), /^p_[0-9a-f]{32}$/);
});
