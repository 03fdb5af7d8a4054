/**
 * The buzzer page in headless Chromium against the real server with viewer tokens on
 * (VIEWER_TOKEN_SECRET): it negotiates protocol v2 (binary frames on the wire, checked from the
 * browser's own WebSocket), sends the token of its URL fragment, buzzes and counts; a page whose
 * token is refused says the link expired and stops instead of retrying.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { ShowState } from "../../../shared/protocol.ts";
import { FRAME } from "../../../shared/v2/index.ts";
import { launchChromium } from "../../../test/harness/chromium.ts";
import { epochSec, mintHs256 } from "../../../test/harness/jwt.ts";
import { startServer, type RunningServer } from "../../../test/harness/server.ts";
import { waitFor } from "../../../test/harness/wait.ts";
import { buildClient } from "../../build.ts";

const SECRET = "buzzer-page-test-secret-at-least-32-bytes";
let dist: string;
let server: RunningServer;
let browser: Browser;
const pageErrors: string[] = [];

before(async () => {
  dist = await mkdtemp(join(tmpdir(), "buzzcast-dist-"));
  await buildClient(dist);
  server = await startServer({ STATIC_DIR: dist, VIEWER_TOKEN_SECRET: SECRET });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0);
  await rm(dist, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], "no uncaught errors in the pages");
});

/** `expiresInSec` negative: a token that expired that long ago. */
function token(sub: string, expiresInSec: number): Promise<string> {
  return Promise.resolve(mintHs256(SECRET, { sub, exp: epochSec(expiresInSec) }));
}

/** Opens the page and records whether each frame it sent was binary, and its first byte. */
async function open(fragment: string): Promise<{ page: Page; sent: Array<{ binary: boolean; first: number | undefined }> }> {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
  const sent: Array<{ binary: boolean; first: number | undefined }> = [];
  page.on("websocket", (ws) =>
    ws.on("framesent", (f) => sent.push({ binary: typeof f.payload !== "string", first: Buffer.from(f.payload)[0] })),
  );
  await page.goto(`${server.url}/${fragment}`);
  return { page, sent };
}
async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? "").trim();
}

test("the page speaks v2 with the token of its URL fragment; its buzz counts for the token's viewer", async () => {
  const { page, sent } = await open(`#token=${await token("page-viewer", 300)}`);
  await waitFor(async () => (await text(page, "#conn-text")) === "Live", { what: "the page to go live" });
  assert.deepEqual(sent[0], { binary: true, first: FRAME.hello }, "the hello is a v2 binary frame");
  await page.getByRole("button", { name: /Buzz/ }).click();
  await waitFor(async () => /Counted/.test(await text(page, '[data-testid="buzz-status"]')), { what: "the buzz to count" });
  assert.ok(
    sent.some((f) => f.binary && f.first === FRAME.buzz),
    "the buzz went as a v2 frame",
  );
  const st = ShowState.parse(await (await fetch(`${server.url}/api/shows/demo`)).json());
  assert.equal(st.totals["act-1"], 1);
});

test("a refused (expired) token: the page says the link expired and stops trying", async () => {
  const { page, sent } = await open(`#token=${await token("late-viewer", -60)}`);
  await waitFor(async () => (await text(page, "#conn-text")) === "Link expired", { what: "the expired-link state" });
  assert.match(await text(page, '[data-testid="buzz-status"]'), /link has expired/i);
  const hellos = sent.filter((f) => f.first === FRAME.hello).length;
  await page.waitForTimeout(1500); // three backoff windows of the first attempts: a retry would show up
  assert.equal(sent.filter((f) => f.first === FRAME.hello).length, hellos, "no reconnect with the refused token");
});
