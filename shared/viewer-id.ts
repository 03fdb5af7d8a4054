/**
 * What a viewer id may be, wherever it comes from (a v1 or v2 hello's `viewer`, a viewer token's
 * `sub`, POST /api/viewer-tokens): 1-128 UTF-16 code units of well-formed Unicode (no lone
 * surrogate: MySQL would store one as U+FFFD and two distinct ids would become one row) without
 * control characters (C0, DEL, C1: a line break in an id forged lines in line-based checks) and
 * without leading or trailing white space (ids that look alike must be alike). Zod-free: browsers
 * and the server share it.
 */

export const MAX_VIEWER_CHARS = 128;

// With the `u` flag a lone surrogate is a code point of category Cs; a valid pair is one astral code point.
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u; // eslint-disable-line no-control-regex
const EDGE_SPACE = /^\s|\s$/u;

/** Why `v` is not an acceptable viewer id, or null when it is. */
export function viewerIdProblem(v: string): string | null {
  if (v.length < 1 || v.length > MAX_VIEWER_CHARS) return `viewer ids are 1-${MAX_VIEWER_CHARS} characters`;
  if (LONE_SURROGATE.test(v)) return "viewer ids must be well-formed Unicode (no lone surrogate)";
  if (CONTROL.test(v)) return "viewer ids must not contain control characters";
  if (EDGE_SPACE.test(v)) return "viewer ids must not start or end with white space";
  return null;
}
