/**
 * The console saves an export only when its last line is the server's seal: the two sides must
 * agree on what a seal line looks like (a format change on one side alone made every console
 * download fail as "cut short").
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { endsWithSeal } from "../client/web/console/export-download.ts";
import { sealLine } from "../server/audit/export-format.ts";

const seals = [
  { sha256: "a".repeat(64), ed25519: "b".repeat(86) + "==", key: `SHA256:${"c".repeat(64)}` },
  { sha256: "d".repeat(64), ed25519: null, key: null },
];

test("the console recognises the server's seal line, signed or not, in both formats", () => {
  for (const format of ["csv", "json"] as const) {
    for (const s of seals) {
      const body = `header\ntotal,act,,1,,\n${sealLine(format, s)}`;
      assert.equal(endsWithSeal(body, format), true, `${format}: ${sealLine(format, s).trim()}`);
    }
  }
});

test("a body cut before its seal is not taken as sealed", () => {
  for (const format of ["csv", "json"] as const) {
    assert.equal(endsWithSeal("header\ntotal,act,,1,,\n", format), false);
    const seal = sealLine(format, seals[0]!);
    assert.equal(endsWithSeal(`header\n${seal.slice(0, -1)}`, format), false, "no final line break");
  }
});
