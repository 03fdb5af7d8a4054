// @ts-check
/**
 * The records of a buzzcast export (format buzzcast-export/2), CSV or JSON Lines, as one list, and
 * the consistency checks: per act, the record's total equals the sum of its buzz rows; under the
 * `once` policy every row counts 1 and no viewer appears twice for one act; every total a node put
 * on air for a closed act equals the record's total.
 */
import { parseCsv } from "./csv.mjs";

export const FORMAT = "buzzcast-export/2";
const COLUMNS = "kind,act,at_ms,count,node,viewer";

/**
 * @typedef {{ policy: string, openAct: string | null, fields: Record<string, unknown> }} Header
 * @typedef {{ kind: "onair" | "total" | "buzz", act: string, atMs: number, count: number, node: string, viewer: string, line: number }} Entry
 */

class ContentError extends Error {}

/** @param {string} s @param {string} what @param {number} line */
function int(s, what, line) {
  if (!/^(0|[1-9][0-9]*)$/.test(s) || !Number.isSafeInteger(Number(s)))
    throw new ContentError(`line ${line}: ${what} is not a non-negative integer: ${JSON.stringify(s)}`);
  return Number(s);
}

/** @param {unknown} v @param {string} what @param {number} line */
function jsonInt(v, what, line) {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new ContentError(`line ${line}: ${what} is not a non-negative integer`);
  return v;
}

/** @param {unknown} v @param {string} what @param {number} line */
function jsonStr(v, what, line) {
  if (typeof v !== "string") throw new ContentError(`line ${line}: ${what} is not a string`);
  return v;
}

/**
 * @param {string} text the body (every line before the seal), decoded
 * @returns {{ header: Header, entries: Entry[] }}
 */
function readCsv(text) {
  const nl = text.indexOf("\n");
  const first = text.slice(0, nl);
  if (first.startsWith("#buzzcast-export/1,"))
    throw new ContentError("format buzzcast-export/1 (the HMAC era): not checked; ask for a new export");
  if (!first.startsWith(`#${FORMAT},`)) throw new ContentError(`line 1: not a ${FORMAT} CSV header`);
  /** @type {Record<string, unknown>} */
  const fields = {};
  for (const part of first.slice(FORMAT.length + 2).split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new ContentError(`line 1: malformed header field ${JSON.stringify(part)}`);
    fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const records = parseCsv(text.slice(nl + 1), 2);
  const cols = records.shift();
  if (cols === undefined || cols.fields.join(",") !== COLUMNS) throw new ContentError(`line 2: the column line must be ${COLUMNS}`);
  /** @type {Entry[]} */
  const entries = [];
  for (const { fields: f, line } of records) {
    if (f.length !== 6) throw new ContentError(`line ${line}: ${f.length} fields, not 6`);
    const [kind, act, at, count, node, viewer] = /** @type {[string, string, string, string, string, string]} */ (f);
    if (kind === "total") {
      if (at !== "" || node !== "" || viewer !== "") throw new ContentError(`line ${line}: a total line has only act and count`);
      entries.push({ kind, act, atMs: 0, count: int(count, "count", line), node: "", viewer: "", line });
    } else if (kind === "onair") {
      if (viewer !== "") throw new ContentError(`line ${line}: an onair line has no viewer`);
      entries.push({ kind, act, atMs: int(at, "at_ms", line), count: int(count, "count", line), node, viewer: "", line });
    } else if (kind === "buzz") {
      entries.push({ kind, act, atMs: int(at, "at_ms", line), count: int(count, "count", line), node, viewer, line });
    } else throw new ContentError(`line ${line}: unknown kind ${JSON.stringify(kind)}`);
  }
  return { header: { policy: String(fields.policy), openAct: fields.openAct === "none" ? null : String(fields.openAct), fields }, entries };
}

/**
 * @param {string} text
 * @returns {{ header: Header, entries: Entry[] }}
 */
function readJson(text) {
  const lines = text.split("\n");
  lines.pop(); // the text ends with a line break
  /** @type {Header | null} */
  let header = null;
  /** @type {Entry[]} */
  const entries = [];
  lines.forEach((l, i) => {
    const line = i + 1;
    /** @type {Record<string, unknown>} */
    let o;
    try {
      o = JSON.parse(l);
    } catch {
      throw new ContentError(`line ${line}: not JSON`);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) throw new ContentError(`line ${line}: not a JSON object`);
    if (line === 1) {
      if (o.type !== "export") throw new ContentError("line 1: not an export header");
      if (o.format === "buzzcast-export/1")
        throw new ContentError("format buzzcast-export/1 (the HMAC era): not checked; ask for a new export");
      if (o.format !== FORMAT) throw new ContentError(`line 1: format ${JSON.stringify(o.format)}, not ${FORMAT}`);
      header = { policy: String(o.policy), openAct: typeof o.openAct === "string" ? o.openAct : null, fields: o };
      return;
    }
    const act = jsonStr(o.act, "act", line);
    const count = jsonInt(o.count, "count", line);
    if (o.type === "total") entries.push({ kind: "total", act, atMs: 0, count, node: "", viewer: "", line });
    else if (o.type === "onair")
      entries.push({
        kind: "onair",
        act,
        atMs: jsonInt(o.atMs, "atMs", line),
        count,
        node: jsonStr(o.node, "node", line),
        viewer: "",
        line,
      });
    else if (o.type === "buzz")
      entries.push({
        kind: "buzz",
        act,
        atMs: jsonInt(o.atMs, "atMs", line),
        count,
        node: jsonStr(o.node, "node", line),
        viewer: jsonStr(o.viewer, "viewer", line),
        line,
      });
    else throw new ContentError(`line ${line}: unknown type ${JSON.stringify(o.type)}`);
  });
  if (header === null) throw new ContentError("no export header");
  return { header, entries };
}

/**
 * @typedef {{ act: string, total: number, rows: number, verdict: "OK" | "OPEN" | "MISMATCH" | "ON-AIR-MISMATCH" }} ActResult
 */

/**
 * Check the content. `problems` empty means consistent.
 * @param {string} text
 * @param {"csv" | "json"} format
 * @returns {{ acts: ActResult[], problems: string[] }}
 */
export function checkContent(text, format) {
  let read;
  try {
    read = format === "csv" ? readCsv(text) : readJson(text);
  } catch (err) {
    if (err instanceof ContentError || (err instanceof Error && err.name === "CsvError")) return { acts: [], problems: [err.message] };
    throw err;
  }
  const { header, entries } = read;
  /** @type {string[]} */
  const problems = [];
  if (header.policy !== "once" && header.policy !== "unlimited") problems.push(`header: unknown policy ${JSON.stringify(header.policy)}`);
  /** @type {Map<string, number>} */
  const totals = new Map();
  for (const e of entries) {
    if (e.kind !== "total") continue;
    if (totals.has(e.act)) problems.push(`line ${e.line}: a second total line for act ${e.act}`);
    totals.set(e.act, e.count);
  }
  /** @type {Map<string, number>} */
  const sums = new Map();
  /** @type {Map<string, Map<string, number>>} */
  const seen = new Map();
  /** @type {Map<string, string[]>} */
  const actProblems = new Map();
  const flag = (/** @type {string} */ act, /** @type {string} */ why) => {
    const l = actProblems.get(act) ?? [];
    l.push(why);
    actProblems.set(act, l);
  };
  for (const e of entries) {
    if (e.kind === "total") continue;
    if (!totals.has(e.act)) {
      problems.push(`line ${e.line}: ${e.kind} line for act ${JSON.stringify(e.act)}, which has no total line`);
      continue;
    }
    if (e.kind !== "buzz") continue;
    sums.set(e.act, (sums.get(e.act) ?? 0) + e.count);
    if (header.policy !== "once") continue;
    if (e.count !== 1)
      flag(e.act, `line ${e.line}: viewer ${JSON.stringify(e.viewer)} has a row counting ${e.count} under once (counted more than once)`);
    const byViewer = seen.get(e.act) ?? new Map();
    seen.set(e.act, byViewer);
    const prev = byViewer.get(e.viewer);
    if (prev !== undefined)
      flag(e.act, `line ${e.line}: viewer ${JSON.stringify(e.viewer)} appears again (first on line ${prev}) under once`);
    else byViewer.set(e.viewer, e.line);
  }
  /** @type {ActResult[]} */
  const acts = [];
  for (const [act, total] of totals) {
    const rows = sums.get(act) ?? 0;
    const open = act === header.openAct;
    /** @type {ActResult["verdict"]} */
    let verdict = open ? "OPEN" : "OK";
    if (open ? rows < total : rows !== total) {
      flag(act, `the record's total is ${total} but its buzz rows add up to ${rows}`);
    }
    if (actProblems.has(act)) verdict = "MISMATCH";
    if (!open) {
      for (const o of entries) {
        if (o.kind !== "onair" || o.act !== act || o.count === total) continue;
        flag(act, `node ${o.node} put ${o.count} on air (frame at ${new Date(o.atMs).toISOString()}) but the record's total is ${total}`);
        if (verdict === "OK") verdict = "ON-AIR-MISMATCH";
      }
    }
    acts.push({ act, total, rows, verdict });
    for (const why of actProblems.get(act) ?? []) problems.push(`${act}: ${why}`);
  }
  return { acts, problems };
}
