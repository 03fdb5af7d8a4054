/**
 * Bytes per totals delivery during a TV-sized vote, from the real encoders (no network): one show
 * of `--acts` acts whose other acts already hold `--others` each, the act on stage rising by
 * `--per-tick` buzzes every tick for `--seconds` at `--tick-ms`, `watching` = `--watching` (changing
 * a little every tick, as a fleet-wide audience does). Each tick is encoded once as the server does:
 * protocol v2 through shared/v2's TotalsEncoder (deltas, a keyframe every KEYFRAME_INTERVAL_MS) and
 * v1 as the JSON totals frame; both plus the WebSocket frame header a server sends (2 bytes up to
 * 125 payload bytes, 4 up to 65,535). One JSON line: mean bytes per delivery, v2 / v1, keyframes.
 *
 *   npx tsx scripts/measure-v2-frame-bytes.ts [--acts 10] [--others 10000000] [--per-tick 100000]
 *     [--seconds 10] [--tick-ms 100] [--watching 10000000]
 */
import { parseArgs } from "node:util";
import type { TotalsFrame } from "../shared/protocol.ts";
import { FRAME } from "../shared/v2/constants.ts";
import { TotalsEncoder } from "../shared/v2/totals-encoder.ts";

const { values } = parseArgs({
  options: {
    acts: { type: "string", default: "10" },
    others: { type: "string", default: "10000000" },
    "per-tick": { type: "string", default: "100000" },
    seconds: { type: "string", default: "10" },
    "tick-ms": { type: "string", default: "100" },
    watching: { type: "string", default: "10000000" },
  },
});
const acts = Number(values.acts);
const others = Number(values.others);
const perTick = Number(values["per-tick"]);
const tickMs = Number(values["tick-ms"]);
const ticks = Math.round((Number(values.seconds) * 1000) / tickMs);
const watching0 = Number(values.watching);

/** Bytes of the WebSocket frame header a server sends (unmasked) for a payload of n bytes. */
const wsHeader = (n: number): number => (n <= 125 ? 2 : n <= 65_535 ? 4 : 10);

const ids = Array.from({ length: acts }, (_, i) => `act-${i + 1}`);
const show = "show-1";
const epoch = "2026-12-07T20:00:00.000Z";
const encoder = new TotalsEncoder();
encoder.setTable(ids, epoch);
const totals: Record<string, number> = Object.fromEntries(ids.map((id, i) => [id, i === 0 ? 0 : others]));
let v1Bytes = 0;
let v2Bytes = 0;
let keyframes = 0;
const t0 = Date.UTC(2026, 11, 7, 20, 0, 0);
for (let seq = 1; seq <= ticks; seq++) {
  totals[ids[0]!] = seq * perTick;
  const ts = t0 + seq * tickMs;
  const watching = watching0 + (seq % 7); // viewers come and go: the audience count changes every tick
  const v2 = encoder.encode({ seq, ts, totals, watching });
  if (v2[0] === FRAME.keyframe) keyframes++;
  v2Bytes += v2.length + wsHeader(v2.length);
  const frame: TotalsFrame = { type: "totals", show, epoch, seq, ts, totals, watching };
  const v1 = Buffer.byteLength(JSON.stringify(frame));
  v1Bytes += v1 + wsHeader(v1);
}
console.log(
  JSON.stringify({
    acts,
    ticks,
    keyframes,
    v2BytesPerDelivery: Number((v2Bytes / ticks).toFixed(1)),
    v1BytesPerDelivery: Number((v1Bytes / ticks).toFixed(1)),
    ratio: Number((v2Bytes / v1Bytes).toFixed(3)),
  }),
);
