/**
 * The on-air graphics overlay (`/overlay?show=ID`), for broadcast browser sources (OBS, vMix,
 * CasparCG): a transparent 1920x1080 page with the acts and their live totals, the act on stage
 * highlighted. It watches over protocol v2 (binary totals frames) and never buzzes. The client
 * library reconnects by itself and replaces the totals at a new epoch (reset), so the page keeps
 * working across drains, restarts and resets without a reload. Options: overlay/options.ts.
 * With viewer tokens configured, pass one in the fragment (`#token=...`), as for the buzzer page.
 */
import "./overlay.css";
import { BuzzClient } from "../../lib/index.ts";
import { Announcer, liveRegionWriter } from "../common/announcer.ts";
import { byId, formatCount, h, setText } from "../common/dom.ts";
import { fragmentToken } from "../common/fragment-token.ts";
import { CountTween } from "./count-tween.ts";
import { overlayOptions, visibleActs } from "./options.ts";

const opts = overlayOptions(location.search);
const root = document.documentElement;
root.dataset["theme"] = opts.theme;
root.style.setProperty("--scale", String(opts.scale));
root.dataset["bars"] = String(opts.bars);

const el = {
  board: byId("board"),
  title: byId("title"),
  list: byId<HTMLOListElement>("acts"),
  status: byId("status"),
  announce: byId("announce"),
};

interface Row {
  id: string;
  name: string;
  li: HTMLLIElement;
  bar: HTMLElement;
  tween: CountTween;
}
let rows: Row[] = [];
const frames = { request: (fn: (now: number) => void) => requestAnimationFrame(fn) };
const announcer = new Announcer(liveRegionWriter(el.announce));

const token = fragmentToken(location.hash);
const client = new BuzzClient({
  url: location.href,
  show: opts.show,
  protocol: "v2",
  ...(token !== null ? { getToken: () => token } : {}),
});

function buildRows(): void {
  const show = client.show;
  if (show === null) return;
  const acts = visibleActs(show.acts, opts.acts);
  const key = acts.map((a) => `${a.id}\u0000${a.name}`).join("\u0001");
  if (key === el.list.dataset["acts"]) return;
  el.list.dataset["acts"] = key;
  rows = acts.map((a) => {
    const total = h("span", { class: "total", "data-testid": `total-${a.id}` });
    const bar = h("span", { class: "bar", "aria-hidden": "true" });
    const li = h("li", { class: "row", "data-act": a.id }, h("span", { class: "name" }, a.name), total, bar);
    const tween = new CountTween((n) => setText(total, formatCount(n)), frames);
    return { id: a.id, name: a.name, li, bar, tween };
  });
  el.list.replaceChildren(...rows.map((r) => r.li));
  render();
}

function render(): void {
  const stage = client.stage;
  const now = performance.now();
  let max = 0;
  for (const r of rows) max = Math.max(max, client.total(r.id));
  for (const r of rows) {
    const n = client.total(r.id);
    r.tween.set(n, now);
    r.bar.style.setProperty("--share", String(max > 0 ? n / max : 0));
    const onStage = stage?.act === r.id;
    r.li.dataset["onStage"] = String(onStage);
    r.li.dataset["open"] = String(onStage && stage?.open === true);
  }
  announcer.offer(rows.map((r) => `${r.name}: ${formatCount(client.total(r.id))}`).join(", "));
}

client.on("show", ({ show }) => {
  setText(el.title, show.title);
  document.title = `${show.title} — live totals`;
  buildRows();
});
client.on("stage", render);
client.on("totals", render);
client.on("state", (s) => {
  el.board.dataset["state"] = s.state;
  setText(el.status, s.state === "live" ? "" : s.state === "closed" ? "Totals unavailable" : "Reconnecting…");
});
client.on("error", (err) => {
  console.warn(`buzzcast overlay: ${err.code}: ${err.message}`);
});

client.connect();
