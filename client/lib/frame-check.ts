/**
 * The default check of incoming frames: a structural check of exactly the fields this library reads,
 * written against the protocol's types (a renamed field fails `tsc`). It exists because the zod
 * schemas in shared/protocol.ts would add ~93 KB gzipped to a browser bundle (measured with esbuild,
 * zod 4.6 classic; the page itself is a few KB). Node users, the bench and our tests can pass
 * `strictFrameCheck` (strict-check.ts), which runs the shared zod `ServerMessage` schema itself;
 * frame-check.test.ts checks both agree on valid and invalid frames.
 */
import { readAckReasons } from "../../shared/ack-reasons.ts";
import type { ServerMessage, ShowInfo, Stage, Totals } from "./protocol-types.ts";

/** Returns the frame typed, or a short reason why it is not a protocol v1 server frame. */
export type FrameCheck = (data: unknown) => ServerMessage | string;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function isCounts(v: unknown): v is Totals {
  if (!isObj(v)) return false;
  for (const k in v) if (!isCount(v[k])) return false;
  return true;
}
function isStage(v: Obj): v is Obj & Stage {
  const s: { [K in keyof Stage]: boolean } = { act: v["act"] === null || isStr(v["act"]), open: typeof v["open"] === "boolean" };
  return s.act && s.open;
}
function isShowInfo(v: unknown): v is ShowInfo {
  if (!isObj(v) || !isStr(v["id"]) || !isStr(v["title"]) || !Array.isArray(v["acts"])) return false;
  return v["acts"].every((a: unknown) => isObj(a) && isStr(a["id"]) && isStr(a["name"]));
}

/** Field checks per frame type; keyed by the protocol's own type names, so a new type fails tsc. */
const checks: { [T in ServerMessage["type"]]: (f: Obj) => boolean } = {
  welcome: (f) =>
    isNum(f["protocol"]) &&
    isShowInfo(f["show"]) &&
    isObj(f["stage"]) &&
    isStage(f["stage"]) &&
    isCount(f["tickMs"]) &&
    isStr(f["epoch"]) &&
    isCount(f["seq"]) &&
    isCounts(f["totals"]) &&
    (f["policy"] === undefined || f["policy"] === "once" || f["policy"] === "unlimited"),
  totals: (f) => isStr(f["show"]) && isStr(f["epoch"]) && isCount(f["seq"]) && isNum(f["ts"]) && isCounts(f["totals"]),
  stage: (f) => isStage(f),
  show: (f) => isShowInfo(f["show"]) && isStr(f["epoch"]),
  ack: (f) => isCount(f["seq"]) && isCount(f["counted"]) && isCounts(f["rejected"]) && isStr(f["last"]) && f["last"] !== "",
  error: (f) => isStr(f["code"]) && isStr(f["message"]),
};

export const basicFrameCheck: FrameCheck = (data) => {
  if (!isObj(data)) return "not a JSON object";
  const type = data["type"];
  if (!isStr(type) || !Object.prototype.hasOwnProperty.call(checks, type)) return `unknown frame type ${JSON.stringify(type)}`;
  const check = checks[type as ServerMessage["type"]];
  if (!check(data)) return `malformed ${type} frame`;
  if (type !== "ack") return data as unknown as ServerMessage;
  // Reasons this client does not know are read as "rejected_other", as the zod schema does.
  const { seq, counted, rejected, last } = data as { seq: number; counted: number; rejected: Record<string, number>; last: string };
  return { type: "ack", seq, counted, ...readAckReasons(rejected, last) };
};
