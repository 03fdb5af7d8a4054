/**
 * The overlay's URL options (`/overlay?show=ID&acts=a,b&theme=light&scale=1.5&bars=1`). Parsing
 * never throws: a value out of range or unknown falls back to its default, so a typo in a graphics
 * operator's URL shows the default look instead of a blank page.
 */
export type OverlayTheme = "dark" | "light";

export interface OverlayOptions {
  show: string;
  /** Acts to show, in this order; null = every act of the show, in the show's order. */
  acts: string[] | null;
  theme: OverlayTheme;
  /** Size multiplier of everything drawn, 0.25-4. */
  scale: number;
  /** Bars proportional to the totals. */
  bars: boolean;
}

export const DEFAULT_SHOW = "demo";
export const MIN_SCALE = 0.25;
export const MAX_SCALE = 4;

export function overlayOptions(search: string): OverlayOptions {
  const p = new URLSearchParams(search);
  const acts = (p.get("acts") ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  const scale = Number(p.get("scale") ?? "1");
  return {
    show: p.get("show")?.trim() || DEFAULT_SHOW,
    acts: acts.length > 0 ? [...new Set(acts)] : null,
    theme: p.get("theme") === "light" ? "light" : "dark",
    scale: Number.isFinite(scale) && scale >= MIN_SCALE && scale <= MAX_SCALE ? scale : 1,
    bars: ["1", "true", "yes"].includes(p.get("bars") ?? ""),
  };
}

/** The acts to draw: the requested subset (in its order, unknown ids dropped), or every act. */
export function visibleActs<A extends { id: string }>(all: readonly A[], wanted: readonly string[] | null): A[] {
  if (wanted === null) return [...all];
  const byId = new Map(all.map((a) => [a.id, a]));
  return wanted.flatMap((id) => {
    const a = byId.get(id);
    return a ? [a] : [];
  });
}
