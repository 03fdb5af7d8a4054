/**
 * The producer console. Live state (show, stage, totals) comes only from the WebSocket through the
 * client library, so what the board shows is what viewers see; changes go through the admin HTTP
 * API with the token from sessionStorage. The server enforces the token; a 401 is shown as such
 * and sends the producer back to sign-in.
 */
import "../common/base.css";
import "./console.css";
import type { ShowState } from "../../../shared/protocol.ts";
import { BuzzClient } from "../../lib/index.ts";
import { connectionLabel } from "../common/connection-label.ts";
import { byId, h, setText } from "../common/dom.ts";
import { watchingOf, watchingText } from "../common/watching.ts";
import { ApiError, api } from "./api.ts";
import { Board } from "./board.ts";
import { RateChart } from "./chart.ts";
import { Editor } from "./editor.ts";
import { RateSeries } from "./rate-series.ts";
import { ResultsPanel } from "./results.ts";
import { TimelinePanel } from "./timeline.ts";
import { clearToken, loadToken, saveToken } from "./token-store.ts";

const el = {
  conn: byId("conn"),
  connText: byId("conn-text"),
  signOut: byId<HTMLButtonElement>("sign-out"),
  alert: byId("alert"),
  notice: byId("notice"),
  signin: byId("signin"),
  signinForm: byId<HTMLFormElement>("signin-form"),
  token: byId<HTMLInputElement>("token"),
  desk: byId("desk"),
  boardTitle: byId("board-h"),
  watching: byId("watching"),
  picker: byId<HTMLFormElement>("picker"),
  showInput: byId<HTMLInputElement>("show-id"),
  showList: byId<HTMLDataListElement>("show-list"),
  onStage: byId("on-stage"),
  voting: byId("voting"),
  toggle: byId<HTMLButtonElement>("toggle-voting"),
  clear: byId<HTMLButtonElement>("clear-stage"),
  reset: byId<HTMLButtonElement>("reset"),
  acts: byId<HTMLOListElement>("acts"),
  chart: byId("chart"),
  chartAct: byId("chart-act"),
};

let token = loadToken();
let showId = new URLSearchParams(location.search).get("show") || "demo";
let client: BuzzClient | null = null;
let chart: RateChart | null = null;
const rate = new RateSeries(60);
const timeline = new TimelinePanel(el.chart.closest("section") ?? el.chart);
const results = new ResultsPanel(timeline.card, {
  token: () => token,
  onError: reportError,
  showTimeline: (act) => timeline.pick(act),
});
const board = new Board(
  el.acts,
  (act) => void admin((t) => api.setStage(t, showId, { act, open: false }), "Act is on stage. Open voting when ready."),
);
const editor = new Editor(byId("editor-form"), byId("show-title"), byId("act-rows"), byId("add-act"), (body) => {
  void admin((t) => api.putShow(t, showId, body), "Show saved.").then((st) => {
    if (!st) return;
    editor.load(st.show, true);
    if (client?.state === "closed") connect(showId); // the show did not exist before
    void refreshShowList();
  });
});

// ------------------------------------------------------------------ messages

function showAlert(text: string): void {
  el.alert.hidden = false;
  el.alert.replaceChildren(h("strong", {}, "Error: "), text);
}
function clearAlert(): void {
  el.alert.hidden = true;
  el.alert.replaceChildren();
}
function notice(text: string): void {
  setText(el.notice, text);
}

function reportError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    signOut();
    showAlert(`${err.describe()} The admin token was not accepted — nothing was changed. Sign in with the token the server printed.`);
    return;
  }
  showAlert(err instanceof ApiError ? err.describe() : String(err));
}

/** Runs an admin change; returns the server's new state, or null after showing why it failed. */
async function admin(action: (token: string) => Promise<ShowState>, done: string): Promise<ShowState | null> {
  if (token === null) {
    showSignin();
    return null;
  }
  clearAlert();
  el.desk.setAttribute("aria-busy", "true");
  try {
    const st = await action(token);
    notice(done);
    return st;
  } catch (err) {
    reportError(err);
    return null;
  } finally {
    el.desk.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------------ sign-in

function showSignin(): void {
  el.desk.hidden = true;
  el.signOut.hidden = true;
  el.conn.hidden = true;
  el.signin.hidden = false;
  el.token.focus();
}

function showDesk(): void {
  el.signin.hidden = true;
  el.desk.hidden = false;
  el.signOut.hidden = false;
  el.conn.hidden = false;
  chart ??= new RateChart(el.chart);
}

function signOut(): void {
  token = null;
  clearToken();
  client?.close();
  client = null;
  showSignin();
}

el.signinForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = el.token.value.trim();
  if (t === "") return;
  clearAlert();
  // Ask the server before showing the desk: a wrong token is refused here, before any change.
  api.checkToken(t).then(
    () => {
      token = t;
      saveToken(t);
      el.token.value = "";
      notice("Signed in. The server checks the token on every change.");
      showDesk();
      void openShow(showId);
    },
    (err: unknown) => reportError(err),
  );
});
el.signOut.addEventListener("click", () => {
  signOut();
  notice("Signed out.");
});

// ------------------------------------------------------------------ the show

async function refreshShowList(): Promise<void> {
  try {
    const { shows } = await api.listShows();
    el.showList.replaceChildren(...shows.map((s) => h("option", { value: s.id }, s.title)));
  } catch (err) {
    reportError(err);
  }
}

async function openShow(id: string): Promise<void> {
  showId = id;
  el.showInput.value = id;
  const url = `/console?show=${encodeURIComponent(id)}`;
  if (location.pathname + location.search !== url) history.replaceState(null, "", url);
  connect(id);
  void refreshShowList();
  renderWatching(null);
  try {
    const st = await api.getShow(id);
    editor.load(st.show, true);
    if (id === showId) renderWatching(watchingOf(st));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      editor.load(null, true);
      notice(`Show “${id}” does not exist yet: give it a title and acts below, then save to create it.`);
    } else reportError(err);
  }
}

/** The open show's audience size (fleet-wide); hidden when the server does not send it. */
function renderWatching(n: number | null): void {
  el.watching.hidden = n === null;
  if (n !== null) setText(el.watching, watchingText(n));
}

function renderStage(): void {
  const stage = client?.stage ?? { act: null, open: false };
  const act = client?.show?.acts.find((a) => a.id === stage.act);
  const name = act?.name ?? stage.act ?? "No act on stage";
  setText(el.onStage, name);
  setText(el.chartAct, stage.act === null ? "No act on stage" : name);
  el.voting.dataset["open"] = String(stage.open && stage.act !== null);
  setText(el.voting, stage.open && stage.act !== null ? "Voting open" : "Voting closed");
  el.toggle.disabled = stage.act === null;
  setText(el.toggle, stage.open ? "Close voting" : "Open voting");
  el.toggle.dataset["open"] = String(stage.open);
  board.setStage(stage);
  timeline.setStage(stage.act);
  results.setStage(stage);
  observeRate();
}

function observeRate(): void {
  const act = client?.stage?.act ?? null;
  if (client === null || act === null || client.epoch === null) return;
  rate.observe(`${client.epoch}/${act}`, client.total(act), Date.now());
}

function connect(id: string): void {
  client?.close();
  const c = new BuzzClient({ url: location.href, show: id });
  client = c;
  c.on("state", (s) => {
    if (c !== client) return;
    el.conn.dataset["state"] = s.state;
    setText(el.connText, connectionLabel(s));
    if (s.state === "closed" && s.code === 4002) setText(el.boardTitle, `“${id}” — not created yet`);
    if (s.state !== "live") results.resync(); // the next welcome's stage is a snapshot, not a change
  });
  c.on("welcome", (w) => c === client && results.setEpoch(id, w.epoch));
  c.on("show", ({ show, epoch }) => {
    if (c !== client) return;
    results.setEpoch(id, epoch);
    results.setShow(id, show);
    setText(el.boardTitle, show.title);
    board.setShow(show, c.totals);
    timeline.setShow(id, show, c.stage?.act ?? null);
    editor.load(show);
    renderStage();
  });
  c.on("stage", () => c === client && renderStage());
  c.on("totals", (u) => {
    if (c !== client) return;
    const { totals } = u;
    board.setTotals(totals);
    results.setTotals(totals);
    renderWatching(watchingOf(u));
    observeRate();
  });
  c.on("error", (err) => console.warn(`buzzcast: ${err.code}: ${err.message}`));
  c.connect();
}

// ------------------------------------------------------------------ stage controls

el.picker.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (el.picker.reportValidity()) void openShow(el.showInput.value.trim());
});
el.toggle.addEventListener("click", () => {
  const stage = client?.stage;
  if (!stage || stage.act === null) return;
  const open = !stage.open;
  void admin((t) => api.setStage(t, showId, { act: stage.act, open }), open ? "Voting is open." : "Voting is closed.");
});
el.clear.addEventListener("click", () => {
  void admin((t) => api.setStage(t, showId, { act: null, open: false }), "Stage cleared.");
});

let resetArmed: ReturnType<typeof setTimeout> | undefined;
function disarmReset(): void {
  clearTimeout(resetArmed);
  resetArmed = undefined;
  delete el.reset.dataset["armed"];
  setText(el.reset, "Reset totals…");
}
el.reset.addEventListener("click", () => {
  if (resetArmed === undefined) {
    el.reset.dataset["armed"] = "true";
    setText(el.reset, "Confirm reset: all totals to zero");
    resetArmed = setTimeout(disarmReset, 5_000);
    return;
  }
  disarmReset();
  void admin((t) => api.reset(t, showId), "Totals reset: a new round has started.");
});

setInterval(() => chart?.update(rate.series(Date.now())), 1_000);

if (token === null) showSignin();
else {
  showDesk();
  void openShow(showId);
}
