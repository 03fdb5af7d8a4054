/**
 * The server side of totals: one TotalsEncoder per show, called ONCE per tick; the bytes it returns
 * are published unchanged to every v2 subscriber of the show. It holds the totals of the frame it
 * emitted last (per act index) and nothing per subscriber; pure, no I/O, no clock of its own.
 *
 * Guarantees:
 *  - A delta numbered s lists exactly the acts whose totals differ from the frame numbered s - 1.
 *  - A keyframe (every act) is emitted for the first frame, after setTable() changed the act table
 *    or the epoch, after requestKeyframe(), when `seq` is not the previous frame's + 1, when the
 *    clock went backwards, and when keyframeIntervalMs has passed since the last keyframe.
 *  - One Uint8Array is allocated per frame; the comparison state is reused.
 *  - Within an epoch a total never decreases: a decrease is a caller bug and throws V2EncodeError
 *    (the previous state is kept, so the next call can still succeed).
 */
import { FRAME, KEYFRAME_INTERVAL_MS, TOTALS_EXT } from "./constants.ts";
import { V2EncodeError } from "./errors.ts";
import { assertVarint, varintSize, writeVarint } from "./varint.ts";

export interface TotalsTick {
  seq: number;
  /** Server time of the tick, ms since 1970-01-01 UTC. */
  ts: number;
  /** act id -> total in the current epoch (v1's shape); a missing act counts as 0. */
  totals: Readonly<Record<string, number>>;
  tickMs?: number;
  watching?: number;
}

/** FNV-1a (32-bit) of the UTF-8 bytes of an epoch string: the `epochId` v2 totals frames carry.
 *  Deterministic, so every server process names the same epoch with the same number. */
export function epochId(epoch: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(epoch)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

export class TotalsEncoder {
  #ids: readonly string[] = [];
  #epochId = 0;
  #prev = new Float64Array(0);
  #next = new Float64Array(0);
  #hasTable = false;
  #forceKey = true;
  /** prev holds no emitted frame yet (new table or epoch): nothing to compare a decrease with. */
  #fresh = true;
  #lastSeq = -1;
  #lastKeyAt = 0;

  constructor(private readonly keyframeIntervalMs = KEYFRAME_INTERVAL_MS) {}

  /**
   * Sets the act table (index i = actIds[i]) and epoch. Returns true, and forces the next frame to
   * be a keyframe, when either changed; a no-op returning false otherwise. Call before the first
   * encode() and whenever the show is edited or reset, after sending the show frame.
   */
  setTable(actIds: readonly string[], epoch: string): boolean {
    const id = epochId(epoch);
    if (this.#hasTable && id === this.#epochId && sameIds(actIds, this.#ids)) return false;
    this.#ids = actIds.slice();
    this.#epochId = id;
    this.#prev = new Float64Array(actIds.length);
    this.#next = new Float64Array(actIds.length);
    this.#hasTable = true;
    this.#forceKey = true;
    this.#fresh = true;
    return true;
  }

  get epochId(): number {
    return this.#epochId;
  }

  /** Makes the next frame a keyframe (a client reported a gap). At most one per tick results. */
  requestKeyframe(): void {
    this.#forceKey = true;
  }

  /** The frame for this tick: a keyframe or a delta, as the guarantees above decide. */
  encode(tick: TotalsTick): Uint8Array {
    if (!this.#hasTable) throw new V2EncodeError("setTable() before encode()");
    assertVarint(tick.seq, "seq");
    assertVarint(tick.ts, "ts");
    const ids = this.#ids;
    const prev = this.#prev;
    const next = this.#next;
    const key =
      this.#forceKey || tick.seq !== this.#lastSeq + 1 || tick.ts < this.#lastKeyAt || tick.ts - this.#lastKeyAt >= this.keyframeIntervalMs;
    // Pass 1: read and check every total, size the frame.
    let body = 0;
    let changed = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = tick.totals[ids[i]!] ?? 0;
      assertVarint(v, `total of ${ids[i]}`);
      if (!this.#fresh && v < prev[i]!) throw new V2EncodeError(`total of ${ids[i]} decreased from ${prev[i]} to ${v} within an epoch`);
      next[i] = v;
      if (key) body += varintSize(v);
      else if (v !== prev[i]) {
        body += varintSize(i) + varintSize(v);
        changed++;
      }
    }
    const count = key ? ids.length : changed;
    const size = 1 + varintSize(this.#epochId) + varintSize(tick.seq) + varintSize(tick.ts) + varintSize(count) + body + extSize(tick);
    // Pass 2: write.
    const buf = new Uint8Array(size);
    buf[0] = key ? FRAME.keyframe : FRAME.delta;
    let pos = writeVarint(buf, 1, this.#epochId);
    pos = writeVarint(buf, pos, tick.seq);
    pos = writeVarint(buf, pos, tick.ts);
    pos = writeVarint(buf, pos, count);
    for (let i = 0; i < ids.length; i++) {
      const v = next[i]!;
      if (key) pos = writeVarint(buf, pos, v);
      else if (v !== prev[i]) pos = writeVarint(buf, writeVarint(buf, pos, i), v);
      prev[i] = v;
    }
    pos = writeExt(buf, pos, TOTALS_EXT.tickMs, tick.tickMs);
    pos = writeExt(buf, pos, TOTALS_EXT.watching, tick.watching);
    if (pos !== size) throw new V2EncodeError(`internal: sized ${size} bytes, wrote ${pos}`);
    this.#lastSeq = tick.seq;
    this.#fresh = false;
    if (key) {
      this.#lastKeyAt = tick.ts;
      this.#forceKey = false;
    }
    return buf;
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function extSize(tick: TotalsTick): number {
  let n = 0;
  if (tick.tickMs !== undefined) {
    assertVarint(tick.tickMs, "tickMs");
    n += 2 + varintSize(tick.tickMs); // tag 1 and a length < 128 take one byte each
  }
  if (tick.watching !== undefined) {
    assertVarint(tick.watching, "watching");
    n += 2 + varintSize(tick.watching);
  }
  return n;
}

function writeExt(buf: Uint8Array, pos: number, tag: number, v: number | undefined): number {
  if (v === undefined) return pos;
  buf[pos] = tag;
  buf[pos + 1] = varintSize(v);
  return writeVarint(buf, pos + 2, v);
}
