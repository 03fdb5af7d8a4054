/**
 * WCAG 2.1 AA in real headless Chromium: axe-core (injected from node_modules) finds zero
 * violations of the wcag2a, wcag2aa, wcag21a and wcag21aa rules on the buzzer page, the producer
 * console (signed out and signed in with a show loaded) and the overlay in both themes. The buzzer
 * is reached and pressed by keyboard alone and shows a visible focus ring; the totals, which change
 * every tick, are announced through one polite live region, not on every tick.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildClient } from "../client/build.ts";
import { launchChromium } from "./harness/chromium.ts";
import { startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
let dist: string;
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

interface AxeViolation {
  id: string;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

async function open(path: string, width = 1280, height = 900): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await page.goto(`${server.url}${path}`);
  return page;
}

/** Runs axe-core in the page; returns its violations, summarised for a readable failure. */
async function axe(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async (tags) => {
    const w = window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } };
    const r = await w.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return r.violations;
  }, TAGS);
  return violations.map(
    (v) => `${v.id} (${v.help}): ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ""}`).join("; ")}`,
  );
}

before(async () => {
  dist = await mkdtemp(join(tmpdir(), "buzzcast-dist-"));
  await buildClient(dist);
  server = await startServer({ STATIC_DIR: dist, BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" });
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close();
  await browser.close();
  await server.stop();
  await rm(dist, { recursive: true, force: true });
});

test("buzzer page: no WCAG 2.1 AA violations (phone and desktop sizes)", async () => {
  for (const [w, h] of [
    [390, 844],
    [1280, 900],
  ] as const) {
    const page = await open("/", w, h);
    await waitFor(async () => (await page.locator('[data-testid="voting"]').textContent()) === "Voting open", {
      what: "voting open on the buzzer",
    });
    assert.deepEqual(await axe(page), [], `buzzer at ${w}x${h}`);
  }
});

test("buzzer: operable by keyboard alone, with a visible focus ring", async () => {
  const page = await open("/");
  await waitFor(async () => (await page.locator('[data-testid="voting"]').textContent()) === "Voting open", { what: "voting open" });
  let focused = "";
  for (let i = 0; i < 10 && focused !== "buzz"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.id ?? "");
  }
  assert.equal(focused, "buzz", "Tab reaches the buzzer");
  const ring = await page.locator("#buzz").evaluate((e) => {
    const s = getComputedStyle(e);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  assert.notEqual(ring.style, "none", "focus is visible");
  assert.ok(ring.width >= 2, `focus ring at least 2px (saw ${ring.width}px)`);
  await page.keyboard.press("Space");
  await waitFor(async () => /counted/i.test((await page.locator('[data-testid="buzz-status"]').textContent()) ?? ""), {
    what: "the keyboard buzz is confirmed",
  }).catch(async (err: Error) =>
    assert.fail(`${err.message}: status ${JSON.stringify(await page.locator('[data-testid="buzz-status"]').textContent())}`),
  );
});

test("buzzer: totals reach screen readers through one polite region, at most every few seconds", async () => {
  const page = await open("/");
  await waitFor(async () => (await page.locator('[data-testid="voting"]').textContent()) === "Voting open", { what: "voting open" });
  const live = await page.evaluate(() =>
    [...document.querySelectorAll("[aria-live]")].map((e) => ({ id: e.id, live: e.getAttribute("aria-live") })),
  );
  assert.ok(!live.some((l) => l.id === "act-total"), "the total that changes every tick is not itself live");
  assert.ok(live.some((l) => l.id === "total-announce" && l.live === "polite"));
  // Record every change of the region while the total changes every tick for 3 s.
  await page.evaluate(() => {
    const w = window as unknown as { announced: string[] };
    w.announced = [];
    const el = document.getElementById("total-announce");
    if (el === null) throw new Error("no live region");
    new MutationObserver(() => w.announced.push(el.textContent ?? "")).observe(el, { childList: true, characterData: true, subtree: true });
  });
  const v = await TestViewer.join(server.wsUrl, "demo", "a11y-viewer");
  const until = Date.now() + 3000;
  let sent = 0;
  while (Date.now() < until) {
    v.buzz("act-1");
    sent++;
    await v.until(() => (v.lastAck?.counted ?? 0) >= sent, "ack");
  }
  const announced = await page.evaluate(() => (window as unknown as { announced: string[] }).announced);
  assert.ok(sent >= 10, `the total changed many times (${sent} buzzes)`);
  assert.ok(announced.length <= 2, `announced at most once per 5 s, saw ${announced.length}: ${JSON.stringify(announced)}`);
  v.close();
});

test("console: no WCAG 2.1 AA violations signed out and signed in", async () => {
  const page = await open("/console");
  assert.deepEqual(await axe(page), [], "console, sign-in form");
  await page.getByLabel("Admin token").fill(server.adminToken);
  await page.getByRole("button", { name: "Sign in" }).click();
  await waitFor(async () => (await page.locator("#conn-text").textContent()) === "Live", { what: "console live" });
  assert.deepEqual(await axe(page), [], "console, signed in");
});

test("overlay: no WCAG 2.1 AA violations in either theme, with bars", async () => {
  for (const q of ["?show=demo", "?show=demo&theme=light&bars=1"]) {
    const page = await open(`/overlay${q}`, 1920, 1080);
    await waitFor(async () => (await page.locator('[data-testid="total-act-1"]').count()) === 1, { what: `overlay${q} drawn` });
    assert.deepEqual(await axe(page), [], `overlay${q}`);
  }
});
