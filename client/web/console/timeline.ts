/**
 * The act's timeline from the record (GET /api/shows/:show/timeline): counted buzzes per persist
 * interval for any act of the show, refreshed every REFRESH_MS while the console is open, so the
 * curve grows live during voting and stays after it closes. The numbers come from MySQL (what the
 * export proves), not from the live totals; the sum under the chart says so.
 * Without a durable record the server answers 409 `no_record` and the card says why.
 */
import type { ShowInfo } from "../../../shared/protocol.ts";
import { formatCount, h, setText } from "../common/dom.ts";
import { ApiError, api, type Timeline } from "./api.ts";
import { RateChart } from "./chart.ts";

const REFRESH_MS = 2000;

export class TimelinePanel {
  readonly #select = h("select", { id: "timeline-act", "data-testid": "timeline-act" });
  readonly #summary = h("p", { class: "timeline-sum", "data-testid": "timeline-total", "aria-live": "polite" }, "—");
  readonly #host = h("div", { class: "chart", role: "img", "aria-label": "Counted buzzes per interval" });
  #chart: RateChart | null = null;
  #show: string | null = null;
  /** The act the producer picked; null: follow the stage. */
  #picked: string | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  readonly card: HTMLElement;

  /** Builds the card and puts it after `anchor`. */
  constructor(anchor: HTMLElement) {
    const card = (this.card = h(
      "section",
      { class: "card chart-card timeline-card", "aria-labelledby": "timeline-h" },
      h("p", { class: "eyebrow" }, "Timeline from the record"),
      h("h2", { id: "timeline-h" }, "Counted buzzes per interval"),
      h("label", { for: "timeline-act" }, "Act "),
      this.#select,
      this.#summary,
      this.#host,
    ));
    anchor.after(card);
    this.#select.addEventListener("change", () => {
      this.#picked = this.#select.value;
      void this.#refresh();
    });
  }

  /** A show was (re)loaded: list its acts; keep the picked act if it still exists. */
  setShow(showId: string, info: ShowInfo, onStage: string | null): void {
    this.#show = showId;
    if (this.#picked !== null && !info.acts.some((a) => a.id === this.#picked)) this.#picked = null;
    this.#select.replaceChildren(...info.acts.map((a) => h("option", { value: a.id }, a.name)));
    this.setStage(onStage);
    this.#chart ??= new RateChart(this.#host, {
      label: "counted",
      describe: (sum, peak) => `Counted buzzes per interval: ${sum} in total, peak ${peak} in one interval`,
    });
    if (this.#timer === undefined) this.#timer = setInterval(() => void this.#refresh(), REFRESH_MS);
    void this.#refresh();
  }

  /** The producer asked for this act's curve (from the results table): pin it and bring the card into view. */
  pick(act: string): void {
    if (![...this.#select.options].some((o) => o.value === act)) return;
    this.#picked = act;
    this.#select.value = act;
    this.card.scrollIntoView({ block: "nearest" });
    void this.#refresh();
  }

  /** Follow the act on stage until the producer picks one. */
  setStage(act: string | null): void {
    if (this.#picked !== null || act === null || this.#select.value === act) return;
    this.#select.value = act;
    void this.#refresh();
  }

  async #refresh(): Promise<void> {
    const show = this.#show;
    const act = this.#select.value;
    if (show === null || act === "") return;
    const seq = ++this.#seq;
    let t: Timeline;
    try {
      t = await api.timeline(show, act);
    } catch (err) {
      if (seq !== this.#seq) return;
      if (err instanceof ApiError && err.code === "no_record") {
        setText(this.#summary, "No timeline: this server keeps no durable record (MYSQL_URL is not set).");
        clearInterval(this.#timer);
        this.#timer = undefined;
      } else setText(this.#summary, err instanceof ApiError ? err.describe() : String(err));
      return;
    }
    if (seq !== this.#seq) return; // a newer request (another act) answered first
    const sum = t.points.reduce((s, [, n]) => s + n, 0);
    setText(this.#summary, `${formatCount(sum)} counted in the record · ${t.points.length} intervals of ${t.intervalMs} ms`);
    this.#summary.dataset["total"] = String(sum);
    // An empty interval on each side: the curve starts and ends at zero, and a single interval still has an x range.
    const first = t.points[0]?.[0];
    const last = t.points.at(-1)?.[0];
    const pts: Array<[number, number]> =
      first === undefined || last === undefined ? [] : [[first - t.intervalMs, 0], ...t.points, [last + t.intervalMs, 0]];
    this.#chart?.update([pts.map(([at]) => at / 1000), pts.map(([, n]) => n)]);
  }
}
