/**
 * The acts of one show epoch's current definition, looked up by the raw bytes of an act id: the
 * per-buzz path matches the canonical buzz frame's act bytes here and gets the tally slot back,
 * with no string built and one Map lookup by a small-integer hash (then a byte compare).
 *
 * Guarantee: `match(bytes)` returns the same slot as `get(string)` for the string those bytes spell
 * (act ids are ASCII: [A-Za-z0-9_-]), and null exactly when that act is not in the definition.
 */
import type { Tally, TallySlot } from "./tally.ts";

interface Entry {
  readonly bytes: Uint8Array;
  readonly slot: TallySlot;
  /** Next entry with the same hash (collisions are rare with <= 100 acts, but possible). */
  readonly next: Entry | null;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Kept within V8's small-integer range, so the hash is never a boxed number. */
const SMI_MASK = 0x3fffffff;

function hashBytes(bytes: Uint8Array, start: number, len: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < start + len; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h & SMI_MASK;
}

export class ActTable {
  private readonly byHash = new Map<number, Entry>();
  private readonly byId = new Map<string, TallySlot>();
  /** Slots in definition order: protocol v2 names acts by this index. */
  private readonly byIndex: TallySlot[] = [];

  /** The slots of `acts` in `tally` (created there when new; existing slots keep their deltas). */
  constructor(acts: readonly string[], tally: Tally) {
    for (const act of acts) {
      const slot = tally.slot(act);
      this.byId.set(act, slot);
      this.byIndex.push(slot);
      const bytes = Buffer.from(act, "latin1");
      const h = hashBytes(bytes, 0, bytes.length);
      this.byHash.set(h, { bytes, slot, next: this.byHash.get(h) ?? null });
    }
  }

  /** The slot of the act whose id is `bytes[start, start + len)`, or null when there is none. */
  match(bytes: Uint8Array, start: number, len: number): TallySlot | null {
    for (let e: Entry | null = this.byHash.get(hashBytes(bytes, start, len)) ?? null; e !== null; e = e.next) {
      const b = e.bytes;
      if (b.length !== len) continue;
      let i = 0;
      while (i < len && b[i] === bytes[start + i]) i++;
      if (i === len) return e.slot;
    }
    return null;
  }

  /** The slot of the act at `index` of the definition (v2's act table), or null past its end. */
  at(index: number): TallySlot | null {
    return this.byIndex[index] ?? null;
  }

  /** The slot of `act`, or null when it is not in the definition (the general, parsed path). */
  get(act: string): TallySlot | null {
    return this.byId.get(act) ?? null;
  }
}
