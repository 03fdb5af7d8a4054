/**
 * Minimal inline SVG charts for the HTML report (no scripts, no CDN): line charts over time and
 * grouped bar charts. All text is escaped; output is deterministic for the same input.
 */

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
}

const W = 640,
  H = 240,
  L = 64,
  R = 16,
  T = 28,
  B = 36;

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Axis ticks: about `n` round numbers covering [0, max]. */
export function niceTicks(max: number, n = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
  return ticks;
}

export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

function frame(title: string, yLabel: string, body: string, legend: Array<{ name: string; color: string }>): string {
  let x = L;
  const items = legend
    .map((s) => {
      const g = `<g transform="translate(${x},${H - 8})"><rect width="10" height="10" y="-9" fill="${s.color}"/><text x="14" font-size="11">${esc(s.name)}</text></g>`;
      x += 26 + s.name.length * 6.2;
      return g;
    })
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif">` +
    `<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>` +
    `<text x="12" y="${T + (H - T - B) / 2}" font-size="11" transform="rotate(-90 12 ${T + (H - T - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>` +
    body +
    items +
    `</svg>`
  );
}

function yAxis(ticks: number[], yOf: (v: number) => number): string {
  return ticks
    .map(
      (v) =>
        `<line x1="${L}" x2="${W - R}" y1="${yOf(v)}" y2="${yOf(v)}" stroke="#ddd"/><text x="${L - 6}" y="${yOf(v) + 4}" font-size="10" text-anchor="end">${shortNumber(v)}</text>`,
    )
    .join("");
}

export function lineChart(title: string, yLabel: string, series: Series[], xLabel = "seconds"): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]).filter((y): y is number => y !== null && Number.isFinite(y)));
  if (xs.length === 0)
    return frame(title, yLabel, `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12">no data</text>`, []);
  const xMin = Math.min(...xs),
    xMax = Math.max(...xs, xMin + 1);
  const ticks = niceTicks(Math.max(...ys, 0));
  const yMax = ticks[ticks.length - 1]!;
  const xOf = (x: number) => +(L + ((x - xMin) / (xMax - xMin)) * (W - L - R)).toFixed(1);
  const yOf = (y: number) => +(H - B - (y / yMax) * (H - T - B)).toFixed(1);
  const lines = series
    .map((s) => {
      let d = "";
      let pen = false;
      for (const [x, y] of s.points) {
        if (y === null || !Number.isFinite(y)) {
          pen = false;
          continue;
        }
        d += `${pen ? "L" : "M"}${xOf(x)},${yOf(y)}`;
        pen = true;
      }
      return d === "" ? "" : `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`;
    })
    .join("");
  const xTicks = niceTicks(xMax - xMin, 6)
    .map((v) => v + xMin)
    .filter((v) => v <= xMax);
  const xAxis =
    xTicks.map((v) => `<text x="${xOf(v)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${shortNumber(v)}</text>`).join("") +
    `<text x="${W - R}" y="${H - B + 26}" font-size="10" text-anchor="end">${esc(xLabel)}</text>`;
  return frame(title, yLabel, yAxis(ticks, yOf) + xAxis + lines, series);
}

export interface BarGroup {
  label: string;
  values: Array<{ name: string; color: string; value: number | null }>;
}

export function barChart(title: string, yLabel: string, groups: BarGroup[]): string {
  const all = groups.flatMap((g) => g.values.map((v) => v.value ?? 0));
  const ticks = niceTicks(Math.max(...all, 0));
  const yMax = ticks[ticks.length - 1]!;
  const yOf = (y: number) => +(H - B - (y / yMax) * (H - T - B)).toFixed(1);
  const gw = (W - L - R) / Math.max(groups.length, 1);
  const bars = groups
    .map((g, gi) => {
      const bw = (gw * 0.8) / Math.max(g.values.length, 1);
      const x0 = L + gi * gw + gw * 0.1;
      const rects = g.values
        .map((v, vi) =>
          v.value === null
            ? ""
            : `<rect x="${(x0 + vi * bw).toFixed(1)}" y="${yOf(v.value)}" width="${(bw * 0.9).toFixed(1)}" height="${(H - B - yOf(v.value)).toFixed(1)}" fill="${v.color}"><title>${esc(`${v.name}: ${v.value}`)}</title></rect>`,
        )
        .join("");
      return rects + `<text x="${(x0 + gw * 0.4).toFixed(1)}" y="${H - B + 14}" font-size="10" text-anchor="middle">${esc(g.label)}</text>`;
    })
    .join("");
  const legend = groups[0]?.values.map((v) => ({ name: v.name, color: v.color })) ?? [];
  return frame(title, yLabel, yAxis(ticks, yOf) + bars, legend);
}
