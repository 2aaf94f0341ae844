// End-to-end test of the dashboard's licences page in Debian's Chromium (playwright-core),
// against a running idlewatch-server that already holds yesterday's lab snapshots and polls a
// stand-in lmutil (tests/tests/licences_page.rs sets both up).
//
//   node licences.test.mjs SERVER_URL VIEWER_TOKEN ARTIFACTS_DIR
//
// Prints "ok <step>" per step; exits non-zero at the first failure, with a screenshot of it.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, viewer, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node licences.test.mjs SERVER_URL VIEWER_TOKEN ARTIFACTS_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
const page = await context.newPage();
const consoleErrors = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
const failedRequests = [];
page.on("response", (r) => { if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.url()}`); });

const shot = (name, p = page) => p.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
function assert(cond, message) { if (!cond) throw new Error(message); }

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.error(`FAILED ${name}: ${e.stack || e}`);
    await shot(`failed-${name.replace(/\W+/g, "-")}`).catch(() => {});
    await browser.close();
    process.exit(1);
  }
}

const seatRow = (app) => page.locator("#seats tbody tr").filter({ has: page.locator(`button[data-app="${app}"]`) });
const cells = async (row) => (await row.locator("td").allTextContents()).map((t) => t.trim());

await step("the hosts page links to the licences page", async () => {
  await page.goto(`${url}/dashboard?token=${encodeURIComponent(viewer)}`);
  await page.getByRole("link", { name: "Licences" }).click();
  await page.waitForURL(/\/dashboard\/licences$/);
  assert(!page.url().includes("token="), `token left in the address bar: ${page.url()}`);
});

await step("the seats table shows each app's PCs, issued seats and peaks", async () => {
  await seatRow("Ansys").waitFor({ timeout: 15_000 });
  const ansys = await cells(seatRow("Ansys"));
  assert(ansys[0] === "3", `PCs: ${ansys}`);
  assert(ansys[1] === "10", `issued (from the licence server): ${ansys}`);
  const yesterday = new Date(Date.now() - 86_400_000).toLocaleDateString(undefined, { dateStyle: "medium" });
  assert(ansys[2].startsWith(`2${yesterday}`), `peak held, and when: ${ansys}`);
  assert(ansys[3].startsWith(`1${yesterday}`), `peak in use, and when: ${ansys}`);
  assert(ansys[5] === "2.5", `hours idle: ${ansys}`);
  assert(ansys[6].endsWith("%"), `idle share: ${ansys}`);
  await shot("licences-01-seats");
});

await step("the first app's week grid and reclaim simulation are shown", async () => {
  await page.locator("#app-title", { hasText: "Ansys" }).waitFor({ timeout: 10_000 });
  assert(await page.locator("#heatmap tbody tr").count() === 7, "seven days");
  assert(await page.locator("#heatmap td.cell").count() === 7 * 24, "24 hours each");
  const yesterday = (new Date(Date.now() - 86_400_000).getUTCDay() + 6) % 7;
  const nine = page.locator("#heatmap tbody tr").nth(yesterday).locator("td.cell").nth(9);
  const title = await nine.getAttribute("title");
  assert(/1 at most/.test(title), `yesterday 09:00: ${title}`);
  const summary = await page.locator("#reclaim-summary").textContent();
  assert(/Peak held 2; .* 1 would have been needed at most: 1 fewer/.test(summary), summary);
  assert(await page.locator("#reclaim-weeks tbody tr").count() >= 1, "week rows");
});

await step("a longer grace before release changes the simulation", async () => {
  await page.locator("#reclaim").selectOption("2h");
  await page.locator("#reclaim-summary", { hasText: "would not have lowered the peak" }).waitFor({ timeout: 10_000 });
});

await step("the licence server's pool and its orphaned checkout are shown", async () => {
  const card = page.locator('article.server-card[data-server="ansys"]');
  await card.waitFor({ timeout: 10_000 });
  const facts = await card.locator(".facts").textContent();
  assert(/10 issued · 2 in use · 1 seen in use on their PCs · 1 orphaned/.test(facts), facts);
  assert(await card.locator("svg.pool-chart polyline").count() === 2, "issued and in-use lines");
  const orphaned = card.locator("tr.orphaned");
  assert(await orphaned.count() === 1, "one orphaned checkout");
  const text = await orphaned.textContent();
  assert(text.includes("ghost-pc") && text.includes("no agent on that PC"), text);
  await shot("licences-02-detail");
});

await step("another app's detail opens from its row", async () => {
  await page.locator('#seats button[data-app="rocky"]').click();
  await page.locator("#app-title", { hasText: "rocky" }).waitFor({ timeout: 10_000 });
});

await step("a group narrows the seats", async () => {
  await page.locator("#group").selectOption("Lab A");
  await page.waitForFunction(() => document.querySelectorAll("#seats tbody tr").length === 1, null, { timeout: 10_000 });
  const ansys = await cells(seatRow("Ansys"));
  assert(ansys[0] === "2", `Lab A: Ansys on pc-a and pc-b only: ${ansys}`);
  await page.locator("#app-title", { hasText: "Ansys" }).waitFor({ timeout: 10_000 });
});

await step("a phone shows the page without sideways scrolling", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await phone.goto(`${url}/dashboard/licences?token=${encodeURIComponent(viewer)}`);
  await phone.locator('#seats button[data-app="Ansys"]').waitFor({ timeout: 15_000 });
  await phone.locator("#heatmap td.cell").first().waitFor({ timeout: 10_000 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await shot("licences-03-phone", phone);
});

await step("a wrong token shows the rejection screen", async () => {
  const other = await browser.newContext();
  const p = await other.newPage();
  await p.goto(`${url}/dashboard/licences?token=not-a-real-token-at-all`);
  await p.getByRole("heading", { name: "Token rejected" }).waitFor({ timeout: 10_000 });
  await other.close();
});

await step("no errors in the console", async () => {
  assert(failedRequests.length === 0, failedRequests.join("\n"));
  assert(consoleErrors.length === 0, consoleErrors.join("\n"));
});
await browser.close();
