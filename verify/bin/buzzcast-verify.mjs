#!/usr/bin/env node
// @ts-check
/**
 * buzzcast-verify FILE --key PUBLIC.pem
 * Exit codes: 0 verified (last line VERIFIED), 1 not verified (the reasons, last line NOT
 * VERIFIED), 2 usage error (bad arguments, unreadable file, not an Ed25519 public key).
 */
import { readFileSync } from "node:fs";
import { UsageError, verifyExport } from "../src/verify.mjs";

const USAGE = "usage: buzzcast-verify EXPORT_FILE --key PUBLIC_KEY.pem   (the key from GET /api/export-key)";

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {string | undefined} */
  let file;
  /** @type {string | undefined} */
  let key;
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE + "\n");
      process.exit(0);
    }
    if (a === "--key") {
      key = argv[++i];
      if (key === undefined) throw new UsageError("--key needs a file");
    } else if (a.startsWith("--key=")) key = a.slice("--key=".length);
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`one export file at a time (got ${file} and ${a})`);
  }
  if (file === undefined) throw new UsageError("no export file given");
  if (key === undefined) throw new UsageError("--key PUBLIC_KEY.pem is required");
  return { file, key };
}

/** @param {string} path @param {string} what */
function read(path, what) {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${/** @type {NodeJS.ErrnoException} */ (err).code ?? String(err)}`);
  }
}

try {
  const { file, key } = parseArgs(process.argv.slice(2));
  const verdict = verifyExport(read(file, "export"), read(key, "key").toString("utf8"));
  process.stdout.write(verdict.lines.join("\n") + "\n");
  process.exitCode = verdict.verified ? 0 : 1;
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`buzzcast-verify: ${err.message}\n${USAGE}\n`);
  process.exitCode = 2;
}
