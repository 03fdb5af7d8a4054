/** The live board: every act with its total, a meter, and a button to put it on stage. */
import type { ShowInfo, Stage, Totals } from "../../../shared/protocol.ts";
import { formatCount, h, setText } from "../common/dom.ts";

interface Row {
  li: HTMLLIElement;
  total: HTMLElement;
  fill: HTMLElement;
  button: HTMLButtonElement;
  /** The button's visible text (the act's name follows it, visually hidden). */
  label: HTMLElement;
}

export class Board {
  readonly #rows = new Map<string, Row>();
  #stage: Stage = { act: null, open: false };

  constructor(
    private readonly list: HTMLOListElement,
    private readonly putOnStage: (act: string) => void,
  ) {}

  setShow(info: ShowInfo, totals: Readonly<Totals>): void {
    this.#rows.clear();
    this.list.replaceChildren();
    for (const act of info.acts) {
      const total = h("span", { class: "act-total", "data-testid": `total-${act.id}` }, "0");
      const fill = h("span", { class: "fill" });
      // The visible label changes with the stage; the act's name follows it for screen readers, so the
      // accessible name always starts with what is shown (WCAG 2.5.3, label in name).
      const label = h("span", {}, "Put on stage");
      const button = h("button", { class: "btn small", type: "button" }, label, h("span", { class: "sr-only" }, `: ${act.name}`));
      button.addEventListener("click", () => this.putOnStage(act.id));
      const li = h(
        "li",
        { class: "act-row", "data-act": act.id },
        h("div", { class: "act-main" }, h("span", { class: "act-title" }, act.name), h("span", { class: "act-id" }, act.id)),
        h("div", { class: "meter", "aria-hidden": "true" }, fill),
        total,
        button,
      );
      this.#rows.set(act.id, { li, total, fill, button, label });
      this.list.append(li);
    }
    this.setStage(this.#stage);
    this.setTotals(totals);
  }

  setStage(stage: Stage): void {
    this.#stage = stage;
    for (const [id, row] of this.#rows) {
      const on = stage.act === id;
      row.li.dataset["onStage"] = String(on);
      row.li.dataset["open"] = String(on && stage.open);
      if (on) row.li.setAttribute("aria-current", "true");
      else row.li.removeAttribute("aria-current");
      row.button.disabled = on;
      setText(row.label, on ? (stage.open ? "Voting open" : "On stage") : "Put on stage");
    }
  }

  setTotals(totals: Readonly<Totals>): void {
    let max = 0;
    for (const id of this.#rows.keys()) max = Math.max(max, totals[id] ?? 0);
    for (const [id, row] of this.#rows) {
      const n = totals[id] ?? 0;
      setText(row.total, formatCount(n));
      row.fill.style.width = max === 0 ? "0%" : `${((n / max) * 100).toFixed(1)}%`;
    }
  }
}
