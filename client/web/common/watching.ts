/**
 * The audience size ("watching": viewers whose connection said hello to the show, fleet-wide), as
 * the server sends it in totals frames and in GET /api/shows/:show. Read defensively: a server
 * without it (older servers), or a frame that does not carry it, gives null, and the pages then
 * hide the number instead of showing a stale or made-up one.
 */
import { formatCount } from "./dom.ts";

export function watchingOf(x: object | null | undefined): number | null {
  if (x === null || x === undefined || !("watching" in x)) return null;
  const n = x.watching;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

export function buzzesText(n: number): string {
  return `${formatCount(n)} ${n === 1 ? "buzz" : "buzzes"}`;
}

export function watchingText(n: number): string {
  return `${formatCount(n)} watching`;
}

/** "1,234 buzzes · 56,789 watching", or "1,234 buzzes" when the server sends no audience size. */
export function audienceText(buzzes: number, watching: number | null): string {
  return watching === null ? buzzesText(buzzes) : `${buzzesText(buzzes)} · ${watchingText(watching)}`;
}
