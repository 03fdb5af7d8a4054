/**
 * The buzzer page: one viewer, one show (?show=<id>, default "demo"). Everything it shows comes
 * from the client library's events; the only thing it sends is `buzz`. It speaks protocol v2
 * wherever the server does ("auto": a v1-only server is answered in v1 on the same connection), and
 * sends the signed viewer token of its URL fragment (`#token=...`) when one is given; a refused
 * token (4012) cannot be refreshed here, so the page stops and says the link has expired.
 */
import "../common/base.css";
import "./buzzer.css";
import { BuzzClient, type BuzzOutcome, type TotalsUpdate } from "../../lib/index.ts";
import { CLOSE } from "../../../shared/codes.ts";
import { Announcer, liveRegionWriter } from "../common/announcer.ts";
import { connectionLabel } from "../common/connection-label.ts";
import { byId, formatCount, setText } from "../common/dom.ts";
import { fragmentToken } from "../common/fragment-token.ts";
import { viewerId } from "../common/viewer-id.ts";
import { audienceText, watchingOf } from "../common/watching.ts";
import { outcomeText, type ButtonState } from "./outcome-text.ts";

const params = new URLSearchParams(location.search);
const showId = params.get("show") || "demo";

const el = {
  conn: byId("conn"),
  connText: byId("conn-text"),
  title: byId("show-title"),
  actName: byId("act-name"),
  voting: byId("voting"),
  button: byId<HTMLButtonElement>("buzz"),
  buttonAct: byId("buzz-act"),
  status: byId("buzz-status"),
  total: byId("act-total"),
  totalAnnounce: byId("total-announce"),
  audience: byId("audience"),
  foot: document.querySelector<HTMLElement>(".foot p"),
};

const token = fragmentToken(location.hash);
const client = new BuzzClient({
  url: location.href,
  show: showId,
  viewer: viewerId(),
  protocol: "auto",
  ...(token !== null ? { getToken: () => token } : {}),
});

/** Per epoch+act: the viewer's last settled outcome, so the button remembers "buzzed" for this act. */
const settled = new Map<string, BuzzOutcome>();
let inFlight = 0;

function currentAct(): { id: string; name: string } | null {
  const act = client.stage?.act ?? null;
  if (act === null) return null;
  return client.show?.acts.find((a) => a.id === act) ?? { id: act, name: act };
}
const actKey = (act: string) => `${client.epoch ?? ""}/${act}`;

function votingOpen(): boolean {
  return client.stage?.open === true && client.stage.act !== null;
}

let lastStage = "";
function renderStage(): void {
  const stageKey = `${client.epoch ?? ""}/${client.stage?.act ?? ""}/${String(client.stage?.open)}`;
  if (stageKey !== lastStage) {
    if (lastStage !== "" && inFlight === 0) say("", "info"); // the last message was about the old stage
    lastStage = stageKey;
  }
  const act = currentAct();
  setText(el.actName, act?.name ?? "No act on stage");
  setText(el.buttonAct, act ? ` for ${act.name}` : "");
  const open = votingOpen();
  el.voting.dataset["open"] = String(open);
  setText(el.voting, open ? "Voting open" : act ? "Voting closed" : "Voting closed — waiting for the next act");
  el.button.setAttribute("aria-disabled", String(!open));
  renderButton();
  renderTotal();
}

function renderButton(): void {
  const act = client.stage?.act ?? null;
  let state: ButtonState = "idle";
  if (inFlight > 0) state = "pressed";
  else if (act !== null) {
    const o = settled.get(actKey(act));
    if (o === "counted" || o === "duplicate") state = "confirmed";
  }
  if (!votingOpen() && state !== "pressed") state = "closed";
  el.button.dataset["state"] = state;
}

let shownTotal = -1;
/** The total changes every tick; screen readers hear it at most every 5 s (common/announcer.ts). */
const announcer = new Announcer(liveRegionWriter(el.totalAnnounce));
/** Audience size from the latest totals update; null when the server sends none (then hidden). */
let watching: number | null = null;
function renderTotal(): void {
  const act = client.stage?.act ?? null;
  const n = act === null ? 0 : client.total(act);
  setText(el.audience, audienceText(n, watching));
  const name = currentAct()?.name;
  if (name !== undefined) announcer.offer(`${name}: ${audienceText(n, null)}`);
  if (n === shownTotal) return;
  if (n > shownTotal && shownTotal >= 0) {
    el.total.classList.remove("bump");
    void el.total.offsetWidth; // restart the CSS animation
    el.total.classList.add("bump");
  }
  shownTotal = n;
  setText(el.total, formatCount(n));
}

function say(text: string, tone: "info" | "good" | "bad"): void {
  el.status.dataset["tone"] = tone;
  setText(el.status, text);
}

async function press(): Promise<void> {
  const act = client.stage?.act ?? null;
  if (!votingOpen() || act === null) {
    say(act === null ? "No act on stage yet — hold that buzz." : "Voting is closed for this act.", "bad");
    return;
  }
  inFlight++;
  renderButton();
  say(client.state === "live" ? "Buzz sent…" : "You're offline — your buzz will be sent when we reconnect.", "info");
  const outcome = await client.buzz(act);
  inFlight--;
  settled.set(actKey(act), outcome);
  const t = outcomeText(outcome);
  say(t.text, t.tone);
  renderButton();
}

el.button.addEventListener("click", () => {
  void press();
});

let tokenRefused = false;
client.on("state", (s) => {
  if (s.code === CLOSE.unauthorized.code && !tokenRefused) {
    tokenRefused = true;
    client.close(); // the link's token was refused: the same token would be refused again
  }
  el.conn.dataset["state"] = s.state;
  setText(el.connText, tokenRefused ? "Link expired" : connectionLabel(s));
  if (tokenRefused) {
    setText(el.actName, "—");
    say("This link has expired or is not valid for this show. Ask for a new one.", "bad");
    return;
  }
  if (s.state === "closed" && client.show === null) {
    // Closed for good before the first snapshot: the show id is wrong (or the server refused us).
    setText(el.title, s.code === 4002 || s.code === 4000 ? `No show called “${showId}”` : "Can't join the show");
    setText(el.actName, "—");
    say("Check the link and reload the page.", "bad");
  }
});
client.on("show", ({ show }) => {
  setText(el.title, show.title);
  document.title = `${show.title} — Buzzcast`;
  renderStage();
});
client.on("welcome", (w) => {
  if (el.foot) {
    setText(
      el.foot,
      w.policy === "unlimited"
        ? "Buzz as often as you like. Press the red X — or Tab to it and press Space or Enter."
        : "One buzz per act. Press the red X — or Tab to it and press Space or Enter.",
    );
  }
});
client.on("stage", renderStage);
client.on("totals", (u: TotalsUpdate) => {
  watching = watchingOf(u);
  renderTotal();
});
client.on("error", (err) => {
  // Shown to the developer; the viewer sees the connection state instead.
  console.warn(`buzzcast: ${err.code}: ${err.message}`);
});

client.connect();
