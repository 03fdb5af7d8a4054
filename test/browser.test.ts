/**
 * End to end in real headless Chromium against the real server: two viewers buzz (one by mouse,
 * one by keyboard only), the producer signs in on the console (a wrong token first: nothing
 * changes), closes voting, and the server restarts mid-show. Screenshots of both pages go to
 * test-artifacts/ on every run.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ShowState } from "../shared/protocol.ts";
import { buildClient } from "../client/build.ts";
import { freePort } from "../client/lib/testing.ts";
import { launchChromium } from "./harness/chromium.ts";
import { startMariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { TestViewer } from "./harness/ws-client.ts";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts", import.meta.url));
let dist: string;
let port: number;
let server: RunningServer | null = null;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
let viewerA: Page;
let viewerB: Page;
let producer: Page;

async function start(): Promise<RunningServer> {
  server = await startServer({ PORT: String(port), STATIC_DIR: dist });
  return server;
}

async function openPage(path: string, width: number, height: number): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("pageerror", (err) => pageErrors.push(`${path}: ${err.message}`));
  await page.goto(`http://127.0.0.1:${port}${path}`);
  return page;
}

/** Waits until the element's text matches; fails with what it saw instead. */
async function seeText(page: Page, selector: string, want: string | RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string | null;
  for (;;) {
    seen = (await page.locator(selector).first().textContent())?.trim() ?? null;
    if (seen !== null && (typeof want === "string" ? seen === want : want.test(seen))) return;
    if (Date.now() > deadline) assert.fail(`${selector}: expected ${String(want)}, saw ${JSON.stringify(seen)}`);
    await page.waitForTimeout(50);
  }
}

async function serverTotal(act: string): Promise<number> {
  assert.ok(server);
  const st = ShowState.parse(await (await fetch(`${server.url}/api/shows/demo`)).json());
  return st.totals[act] ?? 0;
}

const TOTAL = '[data-testid="act-total"]';
const STATUS = '[data-testid="buzz-status"]';
const VOTING = '[data-testid="voting"]';
const AUDIENCE = '[data-testid="audience"]';

before(async () => {
  dist = await mkdtemp(join(tmpdir(), "buzzcast-dist-"));
  await buildClient(dist);
  await mkdir(ARTIFACTS, { recursive: true });
  port = await freePort(); // fixed up front so the restarted server can take the same port
  await start();
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  if (server) assert.equal(await server.stop(), 0);
  await rm(dist, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], "no uncaught errors in the pages");
});

test("a wrong admin token is refused at sign-in with a plain 401, and nothing changes", async () => {
  producer = await openPage("/console", 1280, 900);
  await producer.getByLabel("Admin token").fill("not-the-token");
  await producer.getByRole("button", { name: "Sign in" }).click();
  await seeText(producer, "#alert", /HTTP 401/);
  assert.ok(await producer.getByLabel("Admin token").isVisible(), "back at sign-in");
  assert.ok(server);
  const st = ShowState.parse(await (await fetch(`${server.url}/api/shows/demo`)).json());
  assert.deepEqual(st.stage, { act: "act-1", open: true }, "voting is still open");
});

test("the producer signs in through the form; the token never reaches the URL", async () => {
  await producer.getByLabel("Admin token").fill(server?.adminToken ?? "");
  await producer.getByRole("button", { name: "Sign in" }).click();
  await seeText(producer, "#conn-text", "Live");
  await seeText(producer, '[data-testid="total-act-1"]', "0");
  assert.ok(!producer.url().includes(server?.adminToken ?? "?"), producer.url());
  const stored = await producer.evaluate(() => sessionStorage.getItem("buzzcast.adminToken"));
  assert.equal(stored, server?.adminToken);
});

test("a viewer presses the buzzer: pressed, confirmed, total up; a second viewer sees the same total", async () => {
  viewerA = await openPage("/", 390, 844);
  viewerB = await openPage("/?show=demo", 360, 780);
  for (const p of [viewerA, viewerB]) {
    await seeText(p, "#conn-text", "Live");
    await seeText(p, TOTAL, "0");
    assert.equal(await p.locator("#total-announce").getAttribute("aria-live"), "polite", "totals are announced politely");
    assert.equal(await p.locator(TOTAL).getAttribute("aria-live"), null, "the per-tick total itself is not live");
  }
  const viewerId = await viewerA.evaluate(() => localStorage.getItem("buzzcast.viewer"));
  assert.match(viewerId ?? "", /^v-[0-9a-f]{32}$/, "a persistent viewer id");

  await viewerA.getByRole("button", { name: /Buzz/ }).click();
  await seeText(viewerA, STATUS, /Counted/);
  await seeText(viewerA, TOTAL, "1");
  assert.equal(await viewerA.locator("#buzz").getAttribute("data-state"), "confirmed");
  await seeText(viewerB, TOTAL, "1");
  await seeText(producer, '[data-testid="total-act-1"]', "1");
  for (const p of [viewerA, viewerB]) await seeText(p, AUDIENCE, /^1 buzz( · [\d,]+ watching)?$/);

  await viewerA.getByRole("button", { name: /Buzz/ }).click();
  await seeText(viewerA, STATUS, /Already buzzed/);
  assert.equal(await serverTotal("act-1"), 1);
});

test("keyboard only: Tab to the buzzer and press Space", async () => {
  // viewerB has never been clicked: focus starts at the document, as for a keyboard user.
  let focused = "";
  for (let i = 0; i < 10 && focused !== "buzz"; i++) {
    await viewerB.keyboard.press("Tab");
    focused = await viewerB.evaluate(() => document.activeElement?.id ?? "");
  }
  assert.equal(focused, "buzz", "the buzzer is reachable with Tab");
  await viewerB.keyboard.press("Space");
  await seeText(viewerB, STATUS, /Counted/);
  await seeText(viewerB, TOTAL, "2");
  await seeText(viewerA, TOTAL, "2");
  await seeText(producer, '[data-testid="total-act-1"]', "2");
});

test("the producer closes voting and both buzzer pages show it", async () => {
  await producer.getByRole("button", { name: "Close voting" }).click();
  await seeText(producer, '[data-testid="console-voting"]', "Voting closed");
  for (const p of [viewerA, viewerB]) {
    await seeText(p, VOTING, "Voting closed");
    assert.equal(await p.locator("#buzz").getAttribute("aria-disabled"), "true");
  }
  // aria-disabled keeps the button focusable (screen readers still find it); pressing it explains.
  await viewerA.locator("#buzz").focus();
  await viewerA.keyboard.press("Enter");
  await seeText(viewerA, STATUS, /Voting is closed/);

  await viewerA.screenshot({ path: join(ARTIFACTS, "buzzer-closed-390.png"), fullPage: true });
  await producer.screenshot({ path: join(ARTIFACTS, "console.png"), fullPage: true });
  await producer.getByRole("button", { name: "Open voting" }).click();
  for (const p of [viewerA, viewerB]) await seeText(p, VOTING, "Voting open");
});

test("the buzzer page and the console show how many are watching, as the server counts them", async () => {
  assert.ok(server);
  const url = `${server.url}/api/shows/demo`;
  const st = (await (await fetch(url)).json()) as { watching?: unknown };
  assert.equal(typeof st.watching, "number", "GET /api/shows/:show carries `watching`");
  // Connected to demo now: viewerA, viewerB and the console (each said hello).
  const total = await serverTotal("act-1");
  for (const p of [viewerA, viewerB]) await seeText(p, AUDIENCE, `${total.toLocaleString("en-US")} buzzes · 3 watching`);
  await seeText(producer, '[data-testid="console-watching"]', "3 watching");
  await viewerA.screenshot({ path: join(ARTIFACTS, "buzzer-watching-390.png"), fullPage: true });
});

test("a server restart mid-show: pages reconnect, a buzz made meanwhile counts once, totals match", async () => {
  assert.ok(server);
  const viewerC = await openPage("/", 360, 740);
  await seeText(viewerC, "#conn-text", "Live");
  assert.equal(await server.stop("SIGTERM"), 0);
  server = null;
  for (const p of [viewerA, viewerB, viewerC]) await seeText(p, "#conn-text", "Reconnecting…");
  await viewerC.getByRole("button", { name: /Buzz/ }).click();
  await seeText(viewerC, STATUS, /offline/);

  const s2 = await start();
  for (const p of [viewerA, viewerB, viewerC, producer]) await seeText(p, "#conn-text", "Live", 15_000);
  await seeText(viewerC, STATUS, /Counted/);
  // The embedded store is in memory: the restarted server starts from zero, plus the held buzz.
  const total = await serverTotal("act-1");
  assert.equal(total, 1, "the held buzz counted exactly once");
  for (const p of [viewerA, viewerB, viewerC]) await seeText(p, TOTAL, String(total));
  await seeText(producer, '[data-testid="total-act-1"]', String(total));
  assert.equal(s2.port, port);

  await viewerC.screenshot({ path: join(ARTIFACTS, "buzzer-360.png"), fullPage: true });
  await viewerA.screenshot({ path: join(ARTIFACTS, "buzzer-390.png"), fullPage: true });
  await producer.screenshot({ path: join(ARTIFACTS, "console-after-restart.png"), fullPage: true });
});

test("the console draws any act's timeline from the record, live and after voting closes", async () => {
  // The embedded server keeps no record: the cards say so instead of drawing or exporting.
  await seeText(producer, '[data-testid="timeline-total"]', /no durable record/);
  await seeText(producer, '[data-testid="results-note"]', /no durable record/);
  assert.equal(await producer.locator('[data-testid="export-csv"]').isDisabled(), true, "no export without a record");

  const db = await startMariaDb();
  const rec = await startServer({ STATIC_DIR: dist, MYSQL_URL: db.url, PERSIST_INTERVAL_MS: "200", TICK_MS: "50" });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 1200 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on("pageerror", (err) => pageErrors.push(`record console: ${err.message}`));
    await page.goto(`${rec.url}/console`);
    await page.getByLabel("Admin token").fill(rec.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await seeText(page, "#conn-text", "Live");
    const SUM = '[data-testid="timeline-total"]';
    await seeText(page, SUM, /^0 counted/);
    assert.equal(await page.locator('[data-testid="timeline-act"]').inputValue(), "act-1", "follows the act on stage");

    const viewers: TestViewer[] = [];
    for (let i = 1; i <= 3; i++) {
      const v = await TestViewer.join(rec.wsUrl, "demo", `timeline-viewer-${i}`);
      viewers.push(v);
      v.buzz("act-1");
      await v.until(() => v.lastAck?.last === "counted", "counted");
      await seeText(page, SUM, new RegExp(`^${i} counted in the record`), 15_000); // live: the curve grows
    }
    await admin(rec, "POST", "/api/shows/demo/stage", { act: "act-2", open: true });
    await page.locator('[data-testid="timeline-act"]').selectOption("act-2");
    await seeText(page, SUM, /^0 counted/);
    await page.locator('[data-testid="timeline-act"]').selectOption("act-1");
    await seeText(page, SUM, /^3 counted in the record/); // after its voting closed
    const aria = await page.locator(".timeline-card .chart").getAttribute("aria-label");
    assert.match(aria ?? "", /3 in total/);
    await page.screenshot({ path: join(ARTIFACTS, "console-timeline.png"), fullPage: true });
    for (const v of viewers) v.close();
  } finally {
    assert.equal(await rec.stop(), 0);
    await db.stop();
  }
});
