/**
 * Argument rules shared by every Cache implementation, so all of them reject the same inputs with the
 * same CacheError("bad_value") instead of each backend failing in its own way.
 */
import { CacheError } from "./cache.ts";

/** memcached's key limit; keys must also be usable with the text protocol (stats, debugging). */
export const MAX_KEY_BYTES = 250;
/** Counters are JS numbers: they must stay exact. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

// memcached keys may not hold whitespace or control characters.
// eslint-disable-next-line no-control-regex
const BAD_KEY_CHARS = /[\s\u0000-\u001f\u007f]/;
/** Decimal digits, optionally followed by the spaces memcached pads a counter with when it shrinks. */
const COUNTER_TEXT = /^(\d+) *$/;

export function checkKey(key: string): void {
  if (typeof key !== "string" || key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES || BAD_KEY_CHARS.test(key)) {
    throw new CacheError(
      "bad_value",
      `invalid cache key (1-${MAX_KEY_BYTES} bytes, no whitespace or control characters): ${JSON.stringify(String(key).slice(0, 40))}`,
    );
  }
}

export function checkValue(value: string): void {
  if (typeof value !== "string") throw new CacheError("bad_value", "cache values are strings");
}

/** `ttlSec` absent or 0 = no expiry; otherwise a whole number of seconds. */
export function checkTtl(ttlSec: number | undefined): number {
  if (ttlSec === undefined) return 0;
  if (!Number.isSafeInteger(ttlSec) || ttlSec < 0) {
    throw new CacheError("bad_value", `ttlSec must be a non-negative integer, got ${ttlSec}`);
  }
  return ttlSec;
}

export function checkAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new CacheError("bad_value", `increment amount must be a non-negative safe integer, got ${amount}`);
  }
}

/**
 * Parses a stored counter. Returns undefined when the text is not a counter (memcached answers
 * "non-numeric value" for the same texts, except that it also accepts values up to 2^64-1).
 */
export function parseCounter(text: string): bigint | undefined {
  const m = COUNTER_TEXT.exec(text);
  return m?.[1] === undefined ? undefined : BigInt(m[1]);
}

/** Converts a counter the backend computed; above 2^53-1 it would no longer be exact as a number. */
export function counterToNumber(value: bigint, key: string): number {
  if (value > BigInt(MAX_COUNTER)) {
    throw new CacheError("bad_value", `counter ${key} exceeds 2^53-1 (${value})`);
  }
  return Number(value);
}

/**
 * memcached increments in place and pads a shorter result with trailing spaces ("00005" + 1 reads
 * back as "6    "). A value of digits followed by spaces is returned without the spaces, so every
 * implementation reads the same counter text.
 */
export function normalizeStored(text: string): string {
  return text.endsWith(" ") && COUNTER_TEXT.test(text) ? text.trimEnd() : text;
}
