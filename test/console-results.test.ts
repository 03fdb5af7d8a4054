/**
 * Results in the console, end to end in headless Chromium against a real server with a MariaDB
 * record: acts are voted on and closed; the console shows the closed act's final total (checked
 * against the record and the audit log) and its timeline curve, a results table of every act
 * (rank with ties, total, record, close time, kept across a reload), the audience size, and saves
 * the sealed CSV and JSON exports through the admin API. Screenshots go to test-artifacts/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildClient } from "../client/build.ts";
import { launchChromium } from "./harness/chromium.ts";
import { startMariaDb, type MariaDb } from "./harness/mariadb.ts";
import { admin, startServer, type RunningServer } from "./harness/server.ts";
import { waitFor } from "./harness/wait.ts";
import { TestViewer } from "./harness/ws-client.ts";

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts", import.meta.url));
const SHOW = "finale";
const ACTS = [
  { id: "jugglers", name: "The Jugglers" },
  { id: "violin", name: "Solo Violin" },
  { id: "comedy", name: "Comedy Duo" },
];
let dist: string;
let tmp: string;
let db: MariaDb;
let server: RunningServer;
let browser: Browser;
let page: Page;
const viewers: TestViewer[] = [];
const pageErrors: string[] = [];

async function seeText(selector: string, want: string | RegExp, timeoutMs = 15_000): Promise<string> {
  let seen: string | null = null;
  await waitFor(
    async () => {
      seen = (await page.locator(selector).first().textContent())?.trim() ?? null;
      return seen !== null && (typeof want === "string" ? seen === want : want.test(seen));
    },
    { timeoutMs, what: `${selector} to show ${String(want)} (last seen ${JSON.stringify(seen)})` },
  );
  return seen ?? "";
}

const stage = (act: string | null, open: boolean) => admin(server, "POST", `/api/shows/${SHOW}/stage`, { act, open });

/** `n` new viewers buzz `act` once each; resolves when every buzz is acked as counted. */
async function buzzers(act: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const v = await TestViewer.join(server.wsUrl, SHOW, `${act}-fan-${i}`);
    viewers.push(v);
    v.buzz(act);
    await v.until(() => v.lastAck?.last === "counted", `${act} buzz ${i} counted`);
  }
}

async function showState(): Promise<{ epoch: string; totals: Record<string, number>; watching?: number }> {
  return (await (await fetch(`${server.url}/api/shows/${SHOW}`)).json()) as {
    epoch: string;
    totals: Record<string, number>;
    watching?: number;
  };
}

/** The results table as [act, rank, total, record, closed] rows, top to bottom. */
async function table(): Promise<string[][]> {
  return page
    .locator('[data-testid="results-table"] tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [
        tr.getAttribute("data-act") ?? "",
        ...[...tr.querySelectorAll("td.rank, td.num, td.closed")].map((td) => td.textContent?.trim() ?? ""),
      ]),
    );
}

before(async () => {
  [dist, tmp] = await Promise.all([mkdtemp(join(tmpdir(), "buzzcast-dist-")), mkdtemp(join(tmpdir(), "buzzcast-exports-"))]);
  [db] = await Promise.all([startMariaDb(), buildClient(dist), mkdir(ARTIFACTS, { recursive: true })]);
  server = await startServer({ STATIC_DIR: dist, MYSQL_URL: db.url, PERSIST_INTERVAL_MS: "200", TICK_MS: "50" });
  await admin(server, "PUT", `/api/shows/${SHOW}`, { title: "Grand Finale", acts: ACTS });
  await stage("jugglers", true);
  browser = await launchChromium();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1400 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(`${server.url}/console?show=${SHOW}`);
  await page.getByLabel("Admin token").fill(server.adminToken);
  await page.getByRole("button", { name: "Sign in" }).click();
  await seeText("#conn-text", "Live");
});

after(async () => {
  for (const v of viewers) v.close();
  await browser?.close();
  if (server) assert.equal(await server.stop(), 0);
  await db?.stop();
  await rm(dist, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], "no uncaught errors in the console");
});

test("an act closes: the console shows its final total, agreed by the record, and its timeline curve", async () => {
  await buzzers("jugglers", 3);
  await seeText('[data-testid="total-jugglers"]', "3");
  assert.equal(await page.locator('[data-testid="final-result"]').isHidden(), true, "no final result while voting is open");
  await page.getByRole("button", { name: "Close voting" }).click();
  await seeText('[data-testid="final-total"]', "3");
  assert.equal(await page.locator('[data-testid="final-result"]').getAttribute("data-act"), "jugglers");
  // Reconciliation waits 2 ticks + 2 persist intervals + 500 ms, then live == record == audit log.
  await seeText('[data-testid="final-detail"]', /^Rank 1 · closed at \d\d:\d\d:\d\d · record 3: live, record and audit log agree$/);
  await seeText('[data-testid="timeline-total"]', /^3 counted in the record/);
  assert.equal(await page.locator('[data-testid="timeline-act"]').inputValue(), "jugglers");
  assert.match((await page.locator(".timeline-card .chart").getAttribute("aria-label")) ?? "", /3 in total/);
  await page.screenshot({ path: join(ARTIFACTS, "console-final.png"), fullPage: true });
});

test("the results table ranks every act (ties share a rank) with record and close time, across a reload", async () => {
  await stage("violin", true);
  await buzzers("violin", 3);
  await stage("comedy", true); // another act on stage closes the violin
  await buzzers("comedy", 1);
  await stage("comedy", false);
  await seeText('[data-testid="final-result"] .final-act', "Comedy Duo");
  await waitFor(async () => (await table()).every((r) => r[3]?.endsWith("✓")), { what: "every record to agree", timeoutMs: 15_000 });
  const rows = await table();
  assert.deepEqual(
    rows.map((r) => r.slice(0, 4)),
    [
      ["jugglers", "1", "3", "3 ✓"],
      ["violin", "1", "3", "3 ✓"],
      ["comedy", "3", "1", "1 ✓"],
    ],
  );
  for (const r of rows) assert.match(r[4] ?? "", /^\d\d:\d\d:\d\d$/, `${r[0]} has a close time`);
  assert.equal(await page.locator('[data-testid="timeline-act"]').inputValue(), "comedy", "the timeline follows the act on stage");
  await seeText('[data-testid="timeline-total"]', /^1 counted in the record/);
  await page.screenshot({ path: join(ARTIFACTS, "console-results.png"), fullPage: true });

  await page.reload();
  await seeText("#conn-text", "Live");
  await waitFor(async () => JSON.stringify(await table()) === JSON.stringify(rows), { what: "the same table after a reload" });

  await page.locator('[data-testid="results-table"] tr[data-act="violin"] button').click();
  assert.equal(await page.locator('[data-testid="timeline-act"]').inputValue(), "violin");
  await seeText('[data-testid="timeline-total"]', /^3 counted in the record/);
});

test("CSV and JSON exports are saved through the admin API, sealed, with the record's totals", async () => {
  const { epoch, totals } = await showState();
  for (const format of ["csv", "json"] as const) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator(`[data-testid="export-${format}"]`).click()]);
    const ext = format === "csv" ? "csv" : "ndjson";
    assert.equal(download.suggestedFilename(), `buzzcast-${SHOW}-${epoch}.${ext}`);
    const file = join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
    const exported: Record<string, number> = {};
    const rows: Record<string, number> = {};
    if (format === "csv") {
      assert.match(lines.at(-1) ?? "", /^#seal,sha256=[0-9a-f]{64},/, "sealed by its last line");
      for (const l of lines) {
        const [kind, act, , count] = l.split(",");
        if (kind === "total" && act) exported[act] = Number(count);
        if (kind === "buzz" && act) rows[act] = (rows[act] ?? 0) + Number(count);
      }
    } else {
      const objs = lines.map((l) => JSON.parse(l) as { type: string; act?: string; count?: number });
      assert.equal(objs.at(-1)?.type, "seal");
      for (const o of objs) {
        if (o.type === "total" && o.act) exported[o.act] = o.count ?? NaN;
        if (o.type === "buzz" && o.act) rows[o.act] = (rows[o.act] ?? 0) + (o.count ?? NaN);
      }
    }
    assert.deepEqual(exported, totals, `${format}: the record's totals are the live ones`);
    assert.deepEqual(rows, totals, `${format}: one audit row per counted buzz`);
    await seeText('[data-testid="export-status"]', new RegExp(`^Saved buzzcast-${SHOW}-${epoch}\\.${ext} \\([\\d,]+ bytes, sealed\\)\\.$`));
  }
});

test("the console shows how many are watching the show, as the server counts them", async () => {
  const st = await showState();
  assert.equal(typeof st.watching, "number", "GET /api/shows/:show carries `watching`");
  await waitFor(
    async () => {
      const want = (await showState()).watching ?? -1;
      const seen = (await page.locator('[data-testid="console-watching"]').textContent())?.trim();
      return seen === `${want.toLocaleString("en-US")} watching` && want >= viewers.length + 1;
    },
    { what: "the console's watching to match the server's (every open viewer and the console)", timeoutMs: 10_000 },
  );
  assert.equal(await page.locator('[data-testid="console-watching"]').isVisible(), true);
});
