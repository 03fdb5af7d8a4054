/**
 * `npm run test:unit | test:e2e | test:soak`: runs one suite (test/suites.ts decides which file
 * belongs where) with node's test runner. Unit files run in parallel (TEST_CONCURRENCY, default
 * twice the cores: they mostly wait on I/O and timers); end-to-end and soak files one at a time
 * (they measure timing and start real services). Extra arguments go to `node --test` (e.g.
 * `--test-name-pattern=...`). Exits with the runner's code.
 */
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { ROOT, SUITES, suites, type Suite } from "../test/suites.ts";

const [which, ...extra] = process.argv.slice(2);
if (!SUITES.includes(which as Suite)) {
  process.stderr.write(`usage: tsx scripts/run-tests.ts ${SUITES.join("|")} [node --test options]\n`);
  process.exit(2);
}
const suite = which as Suite;
const files = suites()[suite];
if (files.length === 0) {
  process.stderr.write(`no test files in the ${suite} suite\n`);
  process.exit(1);
}
const concurrency = Number(process.env["TEST_CONCURRENCY"]) || (suite === "unit" ? 2 * availableParallelism() : 1);
const timeoutMs = suite === "unit" ? 120_000 : 240_000;
const args = ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...extra, ...files];
const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
