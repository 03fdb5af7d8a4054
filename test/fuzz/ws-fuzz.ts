/**
 * The WebSocket half of the fuzzer: `lanes` connections at a time, cases generated batch by batch
 * from the seed (streaming: memory does not grow with --frames), each case's outcome checked
 * against its expectation. Only counts and the first few mismatches are kept.
 */
import { CLOSE, closeName } from "../../shared/codes.ts";
import { V2_SUBPROTOCOL } from "../../shared/v2/index.ts";
import { caseBatch, type Case } from "./cases.ts";
import type { Oracle } from "./oracle.ts";
import { runRaw, type Outcome } from "./raw-ws.ts";

export interface WsFuzzResult {
  cases: number;
  frames: number;
  framesByCategory: Record<string, number>;
  /** Close codes the client observed, by code (1006: dropped without a close frame; -1: we ended it). */
  observed: Record<string, number>;
  /** 4000s seen on v2 connections (each must be one v2 decode error). */
  v2BadFrames: number;
  /** Cases the oracle expects uWS to drop for these reasons (lower bounds for the *_hard counters). */
  predictedHard: Record<string, number>;
  predictedV2Reasons: Record<string, number>;
  mismatches: string[];
  mismatchCount: number;
}

const BATCH = 64;
const SETTLE_EXPECTED_MS = 5_000;
const SETTLE_ANY_MS = 150;

export async function fuzzWebSocket(opts: {
  port: number;
  host: string;
  frames: number;
  seed: number;
  lanes: number;
  oracle: Oracle;
}): Promise<WsFuzzResult> {
  const r: WsFuzzResult = {
    cases: 0,
    frames: 0,
    framesByCategory: {},
    observed: {},
    v2BadFrames: 0,
    predictedHard: {},
    predictedV2Reasons: {},
    mismatches: [],
    mismatchCount: 0,
  };
  let batch = 0;
  let queue: Case[] = [];
  let caseNo = 0;
  const next = (): { c: Case; id: string } | null => {
    if (r.frames >= opts.frames) return null;
    if (queue.length === 0) queue = caseBatch(opts.seed, batch++, BATCH, opts.oracle);
    const c = queue.shift()!;
    r.frames += c.frames;
    r.framesByCategory[c.category] = (r.framesByCategory[c.category] ?? 0) + c.frames;
    return { c, id: `seed ${opts.seed} batch ${batch - 1} case ${caseNo++ % BATCH}` };
  };
  const lane = async (): Promise<void> => {
    for (let n = next(); n !== null; n = next()) {
      const { c, id } = n;
      // A case with a required outcome (a close code, or uWS's drop) gets the long settle: the
      // server meets it at once when healthy, and a loaded one may take longer than SETTLE_ANY_MS.
      const settleMs = c.expect === "any" ? SETTLE_ANY_MS : SETTLE_EXPECTED_MS;
      const out = await runRaw(
        { port: opts.port, host: opts.host, subprotocol: c.protocol === 2 ? V2_SUBPROTOCOL : undefined, settleMs },
        c.chunks,
      );
      r.cases++;
      record(r, c, out, id);
    }
  };
  await Promise.all(Array.from({ length: opts.lanes }, lane));
  return r;
}

function record(r: WsFuzzResult, c: Case, out: Outcome, id: string): void {
  const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  if (out.refused !== null) return fail(r, c, id, `handshake: ${out.refused}`);
  bump(r.observed, String(out.closeCode));
  if (c.protocol === 2 && out.closeCode === CLOSE.bad_frame.code) r.v2BadFrames++;
  // Whatever the case, a close with one of our codes comes after an error frame with the same code.
  const ours = closeName(out.closeCode);
  if (ours !== undefined && ours !== "draining") {
    const want = c.protocol === 1 ? ours : out.closeCode;
    if (out.errorCode !== want) fail(r, c, id, `close ${out.closeCode} after error frame ${String(out.errorCode)}`);
  }
  if (c.expect === "any") return;
  if (c.expect === "drop") {
    if (out.closeCode !== 1006) fail(r, c, id, `expected a drop (1006), got ${out.closeCode}`);
    return;
  }
  const e = c.expect;
  if (e.kind !== "close") return fail(r, c, id, "oracle expected no close (a case must end in one)");
  if (e.code === 1006) bump(r.predictedHard, e.name);
  if (e.v2reason !== undefined) bump(r.predictedV2Reasons, e.v2reason);
  if (out.closeCode !== e.code)
    fail(r, c, id, `expected close ${e.code} (${e.name}${e.v2reason ? "/" + e.v2reason : ""}), got ${out.closeCode}`);
}

function fail(r: WsFuzzResult, c: Case, id: string, why: string): void {
  r.mismatchCount++;
  if (r.mismatches.length >= 20) return;
  const bytes = Buffer.concat(c.chunks);
  r.mismatches.push(`${id} [${c.category} v${c.protocol}]: ${why}; sent ${bytes.length} B: ${bytes.subarray(0, 160).toString("hex")}`);
}
