/**
 * Launches Debian's Chromium (/usr/bin/chromium) headless through playwright-core. Never downloads
 * a browser (no `npx playwright install`). Each launch gets a fresh temporary profile that
 * playwright creates and deletes itself, and each `newContext()` is isolated (own localStorage,
 * sessionStorage and cookies), so two contexts are two different viewers. Background networking,
 * component updates and sync are off: the browser only talks to the loopback server under test.
 */
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox", // CI runs as root, where Chromium's sandbox cannot start
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-default-apps",
  "--disable-extensions",
  "--metrics-recording-only",
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}
