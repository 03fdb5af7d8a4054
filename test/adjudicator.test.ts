/**
 * The adjudicator's five commands, exactly as README.md and docs/operations.md give them (the two
 * blocks must be the same), run by bash against a real server on a real MariaDB with a key made by
 * the real `openssl genpkey`: an honest audience buzzes, voting closes, the operator's export is
 * verified by `npx buzzcast-verify` (the workspace package, as installed by `npm install`) and by
 * openssl alone. Then the same file with one buzz row removed and re-sealed by another key fails.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";
import { waitFor } from "./harness/wait.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SHOW = "final";
const VIEWERS = 12;

let db: MariaDb;
let srv: RunningServer;
let dir = "";

before(async () => {
  db = await startMariaDb();
  // Inside the checkout (test-artifacts/ is ignored): `npx` finds the workspace's bin from here, never the registry.
  mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
  dir = mkdtempSync(join(ROOT, "test-artifacts", "adjudicator-"));
  const keyFile = join(dir, "operator-private.pem");
  execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyFile]);
  srv = await startServer({
    MYSQL_URL: db.url,
    TICK_MS: "50",
    PERSIST_INTERVAL_MS: "200",
    DEMO_SHOW: "false",
    EXPORT_SIGNING_KEY_FILE: keyFile,
  });
});
after(async () => {
  assert.equal(await srv?.stop(), 0);
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The fenced sh block right after `heading` in a markdown file. */
function block(file: string, heading: string): string {
  const text = readFileSync(join(ROOT, file), "utf8");
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `${file} has "${heading}"`);
  const start = text.indexOf("```sh\n", at) + "```sh\n".length;
  return text.slice(start, text.indexOf("```", start));
}

function bash(script: string): { code: number | null; out: string } {
  const env = { ...process.env, BUZZCAST: srv.url, ADMIN_TOKEN: srv.adminToken, SHOW };
  const r = spawnSync("bash", ["-c", script], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("key exchange, export, verify: the five documented commands, run as written", async () => {
  const commands = block("docs/operations.md", "### The adjudicator, in five commands");
  assert.equal(block("README.md", "five commands"), commands, "README and docs/operations.md give the same commands");
  assert.equal(commands.trimEnd().split("\n").length, 5);

  await admin(srv, "PUT", `/api/shows/${SHOW}`, { title: "Final", acts: ["a1", "a2"].map((id) => ({ id, name: id })) });
  for (const act of ["a1", "a2"]) {
    await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act, open: true });
    const audience = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => TestViewer.join(srv.wsUrl, SHOW, `viewer-${i}`)));
    for (const v of audience) v.buzz(act);
    await Promise.all(audience.map((v) => v.until(() => v.lastAck?.counted === 1, "counted")));
    await admin(srv, "POST", `/api/shows/${SHOW}/stage`, { act, open: false });
    for (const v of audience) v.ws.close();
  }
  type Audit = { acts: Record<string, { match: boolean }> };
  await waitFor(async () => Object.values(((await admin(srv, "GET", `/api/shows/${SHOW}/audit`)) as Audit).acts).every((a) => a.match), {
    what: "every act: live == record == audit log",
  });
  // The on-air rows land a tick or two after the last frame.
  await waitFor(
    async () => {
      const res = await fetch(`${srv.url}/api/shows/${SHOW}/export`, { headers: { authorization: `Bearer ${srv.adminToken}` } });
      return [...(await res.text()).matchAll(/^onair,a[12],\d+,(\d+),/gm)].filter((m) => m[1] === String(VIEWERS)).length === 2;
    },
    { what: "on-air totals recorded" },
  );

  const r = bash(`set -e\n${commands}`);
  assert.equal(r.code, 0, r.out);
  const fingerprint = /^([0-9a-f]{64}) {2}-$/m.exec(r.out)?.[1];
  assert.ok(fingerprint, r.out);
  assert.match(readFileSync(join(dir, "export.csv"), "utf8"), new RegExp(`key=SHA256:${fingerprint}\\n$`), "the seal names that key");
  assert.match(r.out, new RegExp(`^a1 ${VIEWERS} ${VIEWERS} OK\\na2 ${VIEWERS} ${VIEWERS} OK\\nVERIFIED$`, "m"));
  assert.match(r.out, /^Signature Verified Successfully$/m);

  // The same file with a buzz row removed and re-sealed by a key that is not the operator's.
  const text = readFileSync(join(dir, "export.csv"), "utf8");
  const lines = text.split("\n");
  const cut = lines.findIndex((l) => l.startsWith("buzz,a1,"));
  const body = [...lines.slice(0, cut), ...lines.slice(cut + 1, -2), ""].join("\n");
  writeFileSync(join(dir, "body"), body);
  execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", join(dir, "forger.pem")]);
  const forged = bash(
    `openssl dgst -sha256 -binary body > d && openssl pkeyutl -sign -inkey forger.pem -rawin -in d | openssl base64 -A > s && ` +
      `{ cat body; printf '#seal,sha256=%s,ed25519=%s,key=SHA256:%s\\n' "$(sha256sum body | cut -c1-64)" "$(cat s)" ${fingerprint}; } > export.csv && ` +
      commands.trimEnd().split("\n").slice(3).join(" ; "),
  );
  assert.match(forged.out, /FAILED: the Ed25519 signature does not verify with the given key\nNOT VERIFIED/);
  assert.doesNotMatch(forged.out, /Signature Verified Successfully/);
});
