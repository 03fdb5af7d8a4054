/**
 * npm run fuzz -- --frames N --seed S [--url ws://host:port/ws --admin-token T --pid P] [--lanes L]
 * Fuzzes a buzzcast node (docs/fuzzing.md). Without --url it starts its own node (embedded mode,
 * port 0, loopback) and checks its memory too. Prints a one-line JSON summary last; exits 1 on any
 * violation (each listed on stderr).
 */
import { parseArgs } from "node:util";
import { startServer, TEST_ADMIN_TOKEN } from "../test/harness/server.ts";
import { runFuzz } from "../test/fuzz/run.ts";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    url: { type: "string" },
    "admin-token": { type: "string" },
    pid: { type: "string" },
    lanes: { type: "string", default: "32" },
  },
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be an integer, got ${v}`);
  return n;
};

const own = values.url === undefined ? await startServer({ BUZZ_POLICY: "unlimited" }) : null;
const url = values.url ?? own!.wsUrl;
const adminToken = values["admin-token"] ?? process.env.ADMIN_TOKEN ?? TEST_ADMIN_TOKEN;
const pid = own?.proc.pid ?? (values.pid === undefined ? undefined : int("pid", values.pid));
const { summary, violations } = await runFuzz({
  url,
  adminToken,
  pid,
  frames: int("frames", values.frames),
  seed: int("seed", values.seed),
  lanes: int("lanes", values.lanes),
});
if (own) {
  const code = await own.stop();
  if (code !== 0) violations.push(`the node exited with ${code} on SIGTERM`);
  summary.exitCode = code;
}
for (const v of violations) process.stderr.write(`violation: ${v}\n`);
process.stdout.write(JSON.stringify({ ...summary, violations: violations.length }) + "\n");
process.exit(violations.length === 0 ? 0 : 1);
