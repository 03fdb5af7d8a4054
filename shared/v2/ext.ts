/**
 * The extension section, the rule that lets fields be added without breaking old decoders.
 * After a frame's fixed fields come zero or more extensions up to the end of the frame:
 *     tag (varint >= 1) | length (varint) | value (length bytes)
 * Tags strictly increase within a frame. A decoder skips tags it does not know (it still checks
 * that `length` bytes are present); a known tag's value is one varint that fills exactly `length`,
 * or, for the tags a frame declares as text, `length` bytes of UTF-8 (non-empty).
 * So a byte after the fixed fields that does not start a well-formed extension is an error.
 */
import type { Out, Reader } from "./io.ts";
import { V2EncodeError } from "./errors.ts";
import { assertVarint, varintSize } from "./varint.ts";

/** `names[tag - 1]` is the field a known tag decodes into. */
export type ExtNames = readonly string[];

/** No extension of this frame is text. */
const NO_TEXT: ReadonlySet<string> = new Set();

export function readExtensions<K extends string>(
  r: Reader,
  names: readonly K[],
  into: Partial<Record<K, number | string>>,
  text: ReadonlySet<string> = NO_TEXT,
): void {
  let last = 0;
  while (r.remaining > 0) {
    const at = r.pos;
    const tag = r.varint();
    if (tag === 0) r.fail("trailing_bytes", "extension tag 0 (bytes after the frame's fields)", at);
    if (tag <= last) r.fail("bad_order", `extension tag ${tag} after ${last}`, at);
    last = tag;
    const lenAt = r.pos;
    const len = r.varint();
    if (len > r.remaining) r.fail("truncated", `extension ${tag} of ${len} bytes exceeds the frame`, at);
    const end = r.pos + len;
    const name = names[tag - 1];
    if (name === undefined) {
      r.pos = end; // unknown: skipped, by the rule above
      continue;
    }
    if (text.has(name)) {
      if (len === 0) r.fail("bad_value", `extension ${tag} (${name}) is empty`, at);
      r.pos = lenAt; // length + bytes is exactly a str
      into[name] = r.str();
      continue;
    }
    const value = r.varint();
    if (r.pos !== end) r.fail("bad_value", `extension ${tag} length ${len} does not match its varint`, at);
    into[name] = value;
  }
}

export function writeExtensions<K extends string>(out: Out, names: readonly K[], values: Partial<Record<K, number | string>>): void {
  for (let i = 0; i < names.length; i++) {
    const v = values[names[i]!];
    if (v === undefined) continue;
    if (typeof v === "string") {
      if (v.length === 0) throw new V2EncodeError(`${names[i]} must be a non-empty string`);
      out.varint(i + 1, "extension tag");
      out.str(v); // its byte length, then its bytes: the extension's length and value
      continue;
    }
    assertVarint(v, names[i]!);
    out.varint(i + 1, "extension tag");
    out.varint(varintSize(v), "extension length");
    out.varint(v, names[i]!);
  }
}
