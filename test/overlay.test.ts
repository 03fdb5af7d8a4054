/**
 * The on-air overlay (/overlay) in real headless Chromium at 1920x1080 against a real server: a
 * screenshot taken without a background has fully transparent corners (and opaque panels, so the
 * check can fail); the displayed totals follow buzzes within 3 s; the act on stage is highlighted;
 * `acts=`, `bars=1`, `theme=light` and `scale=` apply; a reset and a server restart on the same port
 * are followed without a reload. Screenshots go to test-artifacts/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildClient } from "../client/build.ts";
import { freePort } from "../client/lib/testing.ts";
import { launchChromium } from "./harness/chromium.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts", import.meta.url));
const ENV = { BUZZ_POLICY: "unlimited", RATE_LIMIT_PER_SEC: "0" };
let dist: string;
let port: number;
let server: RunningServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

async function start(): Promise<RunningServer> {
  server = await startServer({ ...ENV, PORT: String(port), STATIC_DIR: dist });
  return server;
}

async function openOverlay(query: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("pageerror", (err) => pageErrors.push(`overlay${query}: ${err.message}`));
  await page.goto(`http://127.0.0.1:${port}/overlay${query}`);
  return page;
}

async function shown(page: Page, act: string): Promise<string> {
  return ((await page.locator(`[data-testid="total-${act}"]`).textContent()) ?? "").trim();
}

async function seeTotal(page: Page, act: string, want: string, timeoutMs = 3000): Promise<void> {
  let seen = "";
  await waitFor(
    async () => {
      seen = await shown(page, act);
      return seen === want;
    },
    { what: `overlay total of ${act} = ${want} (saw ${JSON.stringify(seen)})`, timeoutMs, intervalMs: 25 },
  ).catch((err: Error) => assert.fail(`${err.message}; last seen ${JSON.stringify(seen)}`));
}

/** Alpha of the pixels at the given points of a PNG, read back through a canvas in the browser. */
async function alphaAt(png: Buffer, points: Array<[number, number]>): Promise<number[]> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  const page = await ctx.newPage();
  return page.evaluate(
    async ({ b64, pts }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
      const canvas = new OffscreenCanvas(bmp.width, bmp.height);
      const c2d = canvas.getContext("2d");
      if (c2d === null) throw new Error("no 2d context");
      c2d.drawImage(bmp, 0, 0);
      return pts.map(([x, y]) => c2d.getImageData(x, y, 1, 1).data[3] ?? -1);
    },
    { b64: png.toString("base64"), pts: points },
  );
}

async function buzzes(v: TestViewer, act: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) v.buzz(act);
  await v.until(() => (v.lastAck?.counted ?? 0) >= n, `${n} acks`);
}

before(async () => {
  dist = await mkdtemp(join(tmpdir(), "buzzcast-dist-"));
  await buildClient(dist);
  await mkdir(ARTIFACTS, { recursive: true });
  port = await freePort();
  await start();
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close();
  await browser.close();
  await server.stop();
  await rm(dist, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], "no page errors");
});

test("transparent at 1920x1080: corners fully transparent, panels opaque; the act on stage is highlighted", async () => {
  const page = await openOverlay("?show=demo");
  await seeTotal(page, "act-1", "0");
  await waitFor(async () => (await page.locator('[data-act="act-1"]').getAttribute("data-on-stage")) === "true", {
    what: "act-1 highlighted as on stage",
  });
  assert.equal(await page.locator('[data-act="act-2"]').getAttribute("data-on-stage"), "false");
  const png = await page.screenshot({ omitBackground: true, path: join(ARTIFACTS, "overlay-transparent.png") });
  const box = await page.locator('[data-act="act-1"]').boundingBox();
  assert.ok(box, "act-1 row is drawn");
  const corners: Array<[number, number]> = [];
  for (const [x0, y0] of [
    [0, 0],
    [1919, 0],
    [0, 1079],
    [1919, 1079],
  ] as const)
    for (let d = 0; d < 40; d += 8) corners.push([Math.abs(x0 - d), Math.abs(y0 - d)]);
  const alphas = await alphaAt(png, [...corners, [Math.round(box.x + box.width / 2), Math.round(box.y + 6)]]);
  const panel = alphas.pop();
  assert.deepEqual(
    alphas,
    corners.map(() => 0),
    "every corner pixel fully transparent",
  );
  assert.ok(panel !== undefined && panel >= 200, `a panel is opaque (alpha ${String(panel)})`);
});

test("the displayed totals follow buzzes within 3 s, with acts=, bars=1, theme=light and scale=", async () => {
  const page = await openOverlay("?show=demo&acts=act-2,act-1&bars=1&theme=light&scale=0.8");
  await seeTotal(page, "act-1", "0");
  assert.deepEqual(await page.locator("[data-act]").evaluateAll((els) => els.map((e) => e.getAttribute("data-act"))), ["act-2", "act-1"]);
  assert.equal(await page.evaluate(() => document.documentElement.dataset["theme"]), "light");
  const v = await TestViewer.join(server.wsUrl, "demo", "overlay-viewer-1");
  await buzzes(v, "act-1", 7);
  await seeTotal(page, "act-1", "7");
  await seeTotal(page, "act-2", "0");
  const bar = await page.locator('[data-act="act-1"] .bar').evaluate((e) => getComputedStyle(e).display);
  assert.equal(bar, "block", "bars drawn with bars=1");
  await page.screenshot({ omitBackground: true, path: join(ARTIFACTS, "overlay-light-bars.png") });
  v.close();
});

test("a reset and a server restart are followed without a reload", async () => {
  const page = await openOverlay("?show=demo");
  await page.evaluate(() => ((window as unknown as { overlayLoads: number }).overlayLoads = 1));
  const v = await TestViewer.join(server.wsUrl, "demo", "overlay-viewer-2");
  await buzzes(v, "act-1", 3);
  await seeTotal(page, "act-1", String(3 + 7));
  await admin(server, "POST", "/api/shows/demo/reset");
  await seeTotal(page, "act-1", "0");
  v.close();

  await server.stop();
  await start();
  const v2 = await TestViewer.join(server.wsUrl, "demo", "overlay-viewer-3");
  await buzzes(v2, "act-1", 4);
  await seeTotal(page, "act-1", "4", 15_000); // the client's reconnect backoff, then one tick
  assert.equal(await page.evaluate(() => (window as unknown as { overlayLoads?: number }).overlayLoads), 1, "the page was not reloaded");
  await page.screenshot({ omitBackground: true, path: join(ARTIFACTS, "overlay-dark.png") });
  v2.close();
});
