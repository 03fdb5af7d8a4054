/**
 * The results card: the final total of the act that closed last (with the record's word on it),
 * a table of every act of the show (rank, total, record, when voting closed), and the sealed export
 * as CSV or JSON. Live totals come from the console's WebSocket; the record's totals from the audit
 * endpoint (admin), polled every AUDIT_MS while a show is open and at once when an act closes.
 * Without a durable record the table shows live totals only and the downloads say why they are off.
 */
import type { ShowInfo, Stage, Totals } from "../../../shared/protocol.ts";
import { formatCount, h, setText } from "../common/dom.ts";
import { ApiError, api, type AuditReport } from "./api.ts";
import { CloseLog } from "./close-log.ts";
import { saveExport, type ExportFormat } from "./export-download.ts";
import { byRank, resultRows, type ResultRow } from "./results-model.ts";
import "./results.css";

const AUDIT_MS = 3000;

export interface ResultsDeps {
  token(): string | null;
  /** Report a failed request (a 401 signs the producer out). */
  onError(err: unknown): void;
  /** Point the timeline card at an act. */
  showTimeline(act: string): void;
}

interface Cells {
  tr: HTMLTableRowElement;
  rank: HTMLElement;
  total: HTMLElement;
  record: HTMLElement;
  closed: HTMLElement;
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });

export class ResultsPanel {
  readonly #log = new CloseLog(storage());
  readonly #finalAct = h("p", { class: "final-act" });
  readonly #finalTotal = h("p", { class: "final-total", "data-testid": "final-total" });
  readonly #finalDetail = h("p", { class: "hint", "data-testid": "final-detail" });
  readonly #final = h(
    "div",
    { class: "final", "data-testid": "final-result", hidden: true },
    h("p", { class: "eyebrow" }, "Voting closed · final total"),
    this.#finalAct,
    this.#finalTotal,
    this.#finalDetail,
  );
  readonly #body = h("tbody");
  readonly #note = h("p", { class: "hint results-note", "data-testid": "results-note" });
  readonly #status = h("p", { class: "export-status", "data-testid": "export-status", role: "status" });
  readonly #buttons: HTMLButtonElement[];
  readonly #cells = new Map<string, Cells>();
  #show: string | null = null;
  #info: ShowInfo | null = null;
  #totals: Readonly<Totals> = {};
  #stage: Stage | null = null;
  #audit: AuditReport | null = null;
  #noRecord = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;

  constructor(
    anchor: HTMLElement,
    private readonly deps: ResultsDeps,
  ) {
    this.#buttons = (["csv", "json"] as const).map((f) => {
      const b = h("button", { class: "btn", type: "button", "data-testid": `export-${f}` }, `Download ${f.toUpperCase()}`);
      b.addEventListener("click", () => void this.#download(f));
      return b;
    });
    const table = h(
      "table",
      { class: "results", "data-testid": "results-table" },
      h("caption", { class: "sr-only" }, "Every act: rank, total, the record's total and when voting closed"),
      h("thead", {}, h("tr", {}, ...["Rank", "Act", "Total", "Record", "Voting closed", ""].map((t) => h("th", { scope: "col" }, t)))),
      this.#body,
    );
    const card = h(
      "section",
      { class: "card results-card", "aria-labelledby": "results-h" },
      h("p", { class: "eyebrow" }, "Results"),
      h("h2", { id: "results-h" }, "Results of this round"),
      this.#final,
      h("div", { class: "table-wrap" }, table),
      this.#note,
      h("div", { class: "downloads" }, h("span", { class: "hint" }, "Sealed export of the record:"), ...this.#buttons),
      this.#status,
    );
    anchor.after(card);
  }

  setShow(showId: string, info: ShowInfo): void {
    if (showId !== this.#show) this.#audit = null;
    this.#show = showId;
    this.#info = info;
    this.#cells.clear();
    this.#body.replaceChildren();
    for (const act of info.acts) this.#addRow(act.id, act.name);
    if (this.#timer === undefined) this.#timer = setInterval(() => void this.#refreshAudit(), AUDIT_MS);
    this.#render();
    void this.#refreshAudit();
  }

  /** A welcome or a reset: the epoch's close times; the stage that follows is a snapshot. */
  setEpoch(showId: string, epoch: string): void {
    this.#log.open(showId, epoch);
    if (this.#audit !== null && this.#audit.epoch !== epoch) this.#audit = null;
    this.#render();
  }

  /** The connection is being re-established: its snapshot is not a stage change. */
  resync(): void {
    this.#log.resync();
  }

  setStage(stage: Stage): void {
    this.#stage = stage;
    const closed = this.#log.observe(stage, Date.now());
    this.#render();
    if (closed !== null) void this.#refreshAudit();
  }

  setTotals(totals: Readonly<Totals>): void {
    this.#totals = totals;
    this.#render();
  }

  #addRow(act: string, name: string): void {
    const cell = (cls: string) => h("td", { class: cls });
    const rank = cell("rank");
    const total = cell("num");
    const record = cell("num record");
    const closed = cell("closed");
    const button = h("button", { class: "btn small", type: "button", "aria-label": `Timeline of ${name}` }, "Timeline");
    button.addEventListener("click", () => this.deps.showTimeline(act));
    const tr = h(
      "tr",
      { "data-act": act },
      rank,
      h("th", { scope: "row" }, name, h("span", { class: "act-id" }, act)),
      total,
      record,
      closed,
      h("td", {}, button),
    );
    this.#cells.set(act, { tr, rank, total, record, closed });
  }

  #render(): void {
    const info = this.#info;
    if (info === null) return;
    const rows = byRank(resultRows(info, this.#totals, this.#stage, this.#log.closes, this.#audit));
    rows.forEach((r, i) => {
      const c = this.#cells.get(r.act);
      if (!c) return;
      setText(c.rank, String(r.rank));
      setText(c.total, formatCount(r.total));
      setText(c.record, r.record === null ? "—" : `${formatCount(r.record)}${r.match === true ? " ✓" : ""}`);
      c.record.title = r.match === false ? "the record is catching up with the live total (or differs: see the audit)" : "";
      setText(c.closed, statusText(r));
      c.tr.dataset["status"] = r.status;
      if (this.#body.children[i] !== c.tr) this.#body.insertBefore(c.tr, this.#body.children[i] ?? null);
    });
    this.#renderFinal(rows);
    setText(this.#note, this.#noteText());
    for (const b of this.#buttons) b.disabled = this.#noRecord;
  }

  #renderFinal(rows: readonly ResultRow[]): void {
    const last = this.#log.lastClosed;
    const row = last === null ? undefined : rows.find((r) => r.act === last.act && r.status === "closed");
    this.#final.hidden = row === undefined;
    if (row === undefined || row.closedAt === null) return;
    const record =
      row.record === null
        ? "live total (no record)"
        : row.match === true
          ? `record ${formatCount(row.record)}: live, record and audit log agree`
          : `record ${formatCount(row.record)}: catching up`;
    this.#final.dataset["act"] = row.act;
    setText(this.#finalAct, row.name);
    setText(this.#finalTotal, formatCount(row.total));
    setText(this.#finalDetail, `Rank ${row.rank} · closed at ${clock(row.closedAt)} · ${record}`);
  }

  #noteText(): string {
    if (this.#noRecord) return "Live totals. This server keeps no durable record (MYSQL_URL is not set): no record column, no export.";
    return "Totals are live (what viewers see); Record is the durable count (✓: live, record and audit log agree). Close times are as this browser saw them.";
  }

  async #refreshAudit(): Promise<void> {
    const show = this.#show;
    const token = this.deps.token();
    if (show === null || token === null) return;
    const seq = ++this.#seq;
    try {
      const audit = await api.audit(token, show);
      if (seq !== this.#seq) return;
      this.#audit = audit;
      this.#noRecord = false;
    } catch (err) {
      if (seq !== this.#seq) return;
      if (err instanceof ApiError && err.code === "no_record") {
        this.#noRecord = true;
        clearInterval(this.#timer);
        this.#timer = undefined;
      } else if (err instanceof ApiError && err.status === 401) this.deps.onError(err);
      else setText(this.#status, err instanceof ApiError ? err.describe() : String(err));
    }
    this.#render();
  }

  async #download(format: ExportFormat): Promise<void> {
    const show = this.#show;
    const token = this.deps.token();
    if (show === null || token === null) return;
    for (const b of this.#buttons) b.disabled = true;
    setText(this.#status, `Downloading the ${format.toUpperCase()} export…`);
    try {
      const saved = await saveExport(token, show, format, (n) => setText(this.#status, `Downloading… ${formatCount(n)} bytes`));
      setText(this.#status, `Saved ${saved.filename} (${formatCount(saved.bytes)} bytes, sealed).`);
      this.#status.dataset["file"] = saved.filename;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.deps.onError(err);
      setText(
        this.#status,
        `Export failed: ${err instanceof ApiError ? err.describe() : err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      for (const b of this.#buttons) b.disabled = this.#noRecord;
    }
  }
}

function statusText(r: ResultRow): string {
  switch (r.status) {
    case "open":
      return "Voting open";
    case "on_stage":
      return "On stage";
    case "closed":
      return r.closedAt === null ? "Closed" : clock(r.closedAt);
    case "not_closed":
      return "—";
  }
}

function storage(): Storage | null {
  try {
    return localStorage;
  } catch (err) {
    console.warn("buzzcast: localStorage unavailable; close times last for this page only", err);
    return null;
  }
}
