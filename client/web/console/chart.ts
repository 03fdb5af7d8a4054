/**
 * Live bar chart of buzzes per second for the act on stage (uPlot: ~20 KB gzipped, canvas, handles
 * axes, time ticks, hi-dpi and resizing - the parts a hand-drawn chart gets wrong). The chart is
 * decoration for the producer: the numbers on the board are the source of truth, and the chart has
 * an aria-label summarising the last minute for screen readers.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const HEIGHT = 220;

export interface ChartText {
  /** Series label. */
  label: string;
  /** The aria-label for the data shown (sum and peak of the bars). */
  describe(sum: number, peak: number): string;
}

const RATE_TEXT: ChartText = {
  label: "buzzes/s",
  describe: (sum, peak) => `Buzzes per second over the last minute: ${sum} in total, peak ${peak} per second`,
};

/** HH:MM:SS per tick; MM:SS.t (tenths) when ticks are less than a second apart (sub-second intervals). */
function timeLabels(splits: number[]): string[] {
  const tenths = splits.some((t) => Math.abs(t - Math.round(t)) > 1e-6);
  return splits.map((t) => {
    const clock = new Date(Math.floor(t) * 1000).toLocaleTimeString("en-GB", { hour12: false });
    return tenths ? `${clock.slice(3)}.${Math.floor((t - Math.floor(t)) * 10 + 1e-6)}` : clock;
  });
}

export class RateChart {
  readonly #plot: uPlot;
  readonly #host: HTMLElement;
  readonly #resize: ResizeObserver;
  readonly #text: ChartText;

  constructor(host: HTMLElement, text: ChartText = RATE_TEXT) {
    this.#host = host;
    this.#text = text;
    const axis = {
      stroke: "#a99fc4",
      grid: { stroke: "rgba(255,255,255,0.08)", width: 1 },
      ticks: { stroke: "rgba(255,255,255,0.15)", width: 1 },
    };
    const bars = uPlot.paths.bars?.({ size: [0.9, 40], gap: 1 });
    const series: uPlot.Series = {
      label: text.label,
      stroke: "#ff5a66",
      fill: "rgba(225,29,46,0.55)",
      width: 1,
      points: { show: false },
    };
    if (bars) series.paths = bars;
    this.#plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] } },
        axes: [
          { ...axis, values: (_u, splits) => timeLabels(splits) },
          { ...axis, size: 44 },
        ],
        series: [{}, series],
      },
      [[], []],
      host,
    );
    this.#resize = new ResizeObserver(() => this.#plot.setSize({ width: Math.max(200, host.clientWidth), height: HEIGHT }));
    this.#resize.observe(host);
  }

  update([xs, ys]: [number[], number[]]): void {
    this.#plot.setData([xs, ys]);
    const sum = ys.reduce((a, b) => a + b, 0);
    const peak = ys.reduce((a, b) => Math.max(a, b), 0);
    this.#host.setAttribute("aria-label", this.#text.describe(sum, peak));
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot.destroy();
  }
}
