/**
 * Rows of the protocol-v2 targets, from one command's runs: buzzcast on v1 and on v2 (`--protocol
 * v1,v2`), and permessage-deflate on v1 as a peer would run it (`--baseline uws-deflate`, bare uWS
 * with uWS.SHARED_COMPRESSOR). Bytes are counted at the generator's sockets, headers included.
 */
import type { BaselineKind } from "../run/server-process.ts";
import type { RunFigures, TargetRow } from "./report-types.ts";

type ByProtocol = Partial<Record<"v1" | "v2", RunFigures>>;

const r2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null || b == null || b === 0 ? null : r2(a / b);
const bytes = (f: RunFigures | undefined) => (f?.bytesPerTotalsDelivery == null ? "?" : `${f.bytesPerTotalsDelivery} B`);

/** ours and the extra protocol runs, by protocol. */
export function byProtocol(ours: RunFigures, runs: ByProtocol = {}): ByProtocol {
  return { ...runs, [ours.protocol]: ours };
}

/** The show the run used: the target's case is fanout with >= 10 acts seeded to >= 1,000,000. */
export interface ShowShape {
  acts: number;
  seedTotal: number;
}

export function protocolRows(p: ByProtocol, baselines: Partial<Record<BaselineKind, RunFigures>>, shape: ShowShape): TargetRow[] {
  const rows: TargetRow[] = [];
  const { v1, v2 } = p;
  const scenario = (v1 ?? v2)?.scenario;
  if (v1 && v2) {
    const b = ratio(v2.bytesPerTotalsDelivery, v1.bytesPerTotalsDelivery);
    const targetCase = scenario === "fanout" && shape.acts >= 10 && shape.seedTotal >= 1_000_000;
    rows.push({
      what: `v2 bytes per totals delivery (${shape.acts > 0 ? `${shape.acts} acts seeded to ${shape.seedTotal}` : "the existing show"})`,
      target: targetCase ? "<= 0.1 x v1, same run" : "(comparison; the target is measured with fanout --acts 10 --seed-total 1000000)",
      measured: `${bytes(v2)} vs ${bytes(v1)}; per viewer-second ${v2.egressBytesPerViewerSec ?? "?"} vs ${v1.egressBytesPerViewerSec ?? "?"} B`,
      ratio: b,
      pass: b === null || !targetCase ? null : b <= 0.1,
    });
    const key = scenario === "ingest" ? "serverCpuUsPerBuzz" : scenario === "fanout" ? "serverCpuUsPerDelivery" : null;
    if (key !== null) {
      const c = ratio(v2[key], v1[key]);
      rows.push({
        what: `v2 server CPU per ${key === "serverCpuUsPerBuzz" ? "buzz" : "delivery"}`,
        target: "<= v1, same run",
        measured: `${v2[key] ?? "?"} us vs ${v1[key] ?? "?"} us`,
        ratio: c,
        pass: c === null ? null : c <= 1,
      });
    }
  }
  const deflate = baselines["uws-deflate"];
  if (deflate) {
    const plain = baselines.uws;
    const ours = v2 ?? v1;
    rows.push({
      what: "permessage-deflate on v1 (bare uWS, SHARED_COMPRESSOR): bytes per totals delivery",
      target: "(comparison: what a peer would do)",
      measured: `${bytes(deflate)} deflated${plain ? ` vs ${bytes(plain)} plain` : ""}; buzzcast ${ours?.protocol ?? "?"} ${bytes(ours)}`,
      ratio: ratio(ours?.bytesPerTotalsDelivery, deflate.bytesPerTotalsDelivery),
      pass: null,
    });
    rows.push({
      what: "permessage-deflate: server CPU per delivery",
      target: "(comparison: compression's cost)",
      measured: `${deflate.serverCpuUsPerDelivery ?? "?"} us deflated${plain ? ` vs ${plain.serverCpuUsPerDelivery ?? "?"} us plain` : " (add --baseline uws for plain)"}; buzzcast ${ours?.protocol ?? "?"} ${ours?.serverCpuUsPerDelivery ?? "?"} us`,
      ratio: ratio(ours?.serverCpuUsPerDelivery, deflate.serverCpuUsPerDelivery),
      pass: null,
    });
  }
  return rows;
}
