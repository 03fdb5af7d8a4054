// @ts-check
/**
 * Verify a buzzcast audit export: its seal (digest of every byte before the last line, Ed25519
 * signature of that digest by the operator's key) and its content (per act: the record's total ==
 * the sum of its buzz rows == every total put on air once voting closed; under `once` no viewer
 * twice). The seal is checked first: content that is not sealed by the given key is not read.
 */
import { checkContent } from "./content.mjs";
import { checkSeal, loadPublicKey, parseSeal, splitSeal, UsageError } from "./seal.mjs";

export { UsageError, loadPublicKey };

/**
 * @typedef {{ verified: boolean, lines: string[], problems: string[] }} Verdict
 * `lines`: what to print (one per act, then the problems, then `VERIFIED` or `NOT VERIFIED`).
 */

/**
 * @param {Buffer} bytes the export file
 * @param {string} publicKeyPem the operator's Ed25519 public key (SPKI PEM, from GET /api/export-key)
 * @returns {Verdict}
 */
export function verifyExport(bytes, publicKeyPem) {
  const pub = loadPublicKey(publicKeyPem);
  const fail = (/** @type {string[]} */ problems, /** @type {string[]} */ lines = []) => ({
    verified: false,
    problems,
    lines: [...lines, ...problems.map((p) => `FAILED: ${p}`), "NOT VERIFIED"],
  });
  const format = bytes[0] === 0x23 ? "csv" : bytes[0] === 0x7b ? "json" : null;
  if (format === null) return fail(["not a buzzcast export (it starts with neither # nor {)"]);
  const split = splitSeal(bytes);
  if ("error" in split) return fail([split.error]);
  const parsed = parseSeal(split.seal, format);
  if ("error" in parsed) return fail([parsed.error]);
  const sealProblem = checkSeal(split.body, parsed.seal, pub);
  if (sealProblem !== null) return fail([sealProblem]);
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(split.body);
  } catch {
    return fail(["the body is not valid UTF-8"]);
  }
  const { acts, problems } = checkContent(text, format);
  const lines = acts.map((a) => `${a.act} ${a.total} ${a.rows} ${a.verdict}`);
  if (problems.length > 0) return fail(problems, lines);
  return { verified: true, problems: [], lines: [...lines, "VERIFIED"] };
}
