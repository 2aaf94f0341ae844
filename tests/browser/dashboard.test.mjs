// End-to-end test of the dashboard in Debian's Chromium (playwright-core), against a running
// idlewatch-server, with real Socket.IO agents (socket.io-client) sending snapshots.
//
//   node dashboard.test.mjs SERVER_URL VIEWER_TOKEN AGENT_TOKEN ARTIFACTS_DIR
//
// Prints "ok <step>" per step; exits non-zero at the first failure, with a screenshot of it.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const [url, viewer, agentToken, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node dashboard.test.mjs SERVER_URL VIEWER_TOKEN AGENT_TOKEN ARTIFACTS_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
// Over HTTPS the server's certificate comes from a CA made by the test: the browser is told to
// accept it (the Node agents trust that CA through NODE_EXTRA_CA_CERTS).
const context = await browser.newContext({
  viewport: { width: 1920, height: 1080 },
  ignoreHTTPSErrors: url.startsWith("https://"),
});
let page = await context.newPage();
const consoleErrors = [];
const watch = (p) => p.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
watch(page);

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

async function agent(name) {
  const socket = io(url, { auth: { token: agentToken }, transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { socket.on("connect", resolve); socket.on("connect_error", reject); });
  socket.emit("agent_register", { host: name });
  return {
    async send(snapshot) {
      const ack = await socket.timeout(10_000).emitWithAck("agent_snapshot", { host: name, ...snapshot });
      assert(ack && ack.ok, `snapshot of ${name} refused: ${JSON.stringify(ack)}`);
    },
    close() { socket.disconnect(); },
  };
}

const now = Date.now();
const MIN = 60_000;
const processes = [
  { pid: 4, name: "System", username: "SYSTEM", cpu_percent: 0.5, memory_bytes: 1_048_576 },
  { pid: 4242, name: "ansysedt.exe", username: "lab", cpu_percent: 87.5, memory_bytes: 2_147_483_648 },
  { pid: 77, name: "code.exe", username: "lab", cpu_percent: 12.25, memory_bytes: 314_572_800 },
];
const tile = (host) => page.locator(`button.tile[data-host="${host}"]`);

await step("a wrong token shows the rejection screen", async () => {
  await page.goto(`${url}/dashboard?token=not-a-real-token-at-all`);
  await page.getByRole("heading", { name: "Token rejected" }).waitFor({ timeout: 10_000 });
  assert(!page.url().includes("token="), `the token stays in the address bar: ${page.url()}`);
  await shot("01-token-rejected");
});

const lab1 = await agent("pc-lab-01");
const lab2 = await agent("pc-lab-02");

await step("agents report (with an hour of history)", async () => {
  for (let k = 60; k >= 1; k -= 1) {
    const active = k > 30;
    await lab1.send({
      captured_at: now - k * MIN, group: "Lab A", idle_seconds: active ? 2 : 300, user_active: active,
      cpu_percent: 20, memory_percent: 40, foreground_process: "ansysedt.exe",
      watched: { Ansys: { running: true, state: active ? "interactive" : "computing" } }, processes,
    });
  }
  await lab1.send({
    captured_at: now, group: "Lab A", idle_seconds: 3, user_active: true, cpu_percent: 35.5,
    memory_percent: 61, foreground_process: "ansysedt.exe",
    watched: { Ansys: { running: true, state: "interactive" }, Rocky: { running: false, state: "not_running" } },
    processes,
  });
  await lab2.send({
    captured_at: now, group: "Lab B", idle_seconds: 42, user_active: false, cpu_percent: 3,
    memory_percent: 22, foreground_process: "explorer.exe", processes: processes.slice(0, 1),
  });
});

await step("the host tiles appear, grouped, with their state", async () => {
  page = await context.newPage();
  watch(page);
  await page.goto(`${url}/dashboard?token=${encodeURIComponent(viewer)}`);
  await tile("pc-lab-01").waitFor({ timeout: 10_000 });
  assert(!page.url().includes("token="), `the token stays in the address bar: ${page.url()}`);
  const kept = await page.evaluate(() => sessionStorage.getItem("idlewatch-token"));
  assert(kept === viewer, "the token is kept in sessionStorage");
  // The tile may appear from `agent_list` a moment before the snapshots are loaded.
  const parts = ["pc-lab-01", "online", "Active", "Ansys · in use", "Rocky · not running", "ansysedt.exe"];
  await page.waitForFunction(
    (want) => want.every((p) => document.querySelector('button.tile[data-host="pc-lab-01"]').innerText.includes(p)),
    parts, { timeout: 10_000 },
  ).catch(async () => { throw new Error(`tile text: ${await tile("pc-lab-01").innerText()}`); });
  assert((await page.locator("h2", { hasText: "Lab A" }).count()) === 1, "a Lab A section");
  assert((await page.locator("h2", { hasText: "Lab B" }).count()) === 1, "a Lab B section");
  await page.waitForFunction(() => document.getElementById("total-online").textContent === "2 / 2");
  const label = await tile("pc-lab-01").getAttribute("aria-label");
  assert(label.includes("online") && label.includes("Ansys in use"), `accessible name: ${label}`);
  await shot("02-grid");
});

await step("a new snapshot changes idle time and app state live", async () => {
  await lab1.send({
    captured_at: Date.now(), group: "Lab A", idle_seconds: 600, user_active: false, cpu_percent: 91,
    memory_percent: 62, foreground_process: "ansysedt.exe",
    watched: { Ansys: { running: true, state: "idle" } }, processes,
  });
  await page.locator('button.tile[data-host="pc-lab-01"] .app[data-state="idle"]').waitFor({ timeout: 5_000 });
  const text = await tile("pc-lab-01").innerText();
  assert(text.includes("Idle") && text.includes("idle 10m"), `idle shown: ${text}`);
  assert(text.includes("Ansys · idle licence"), `licence idle shown: ${text}`);
  await page.waitForFunction(() => document.getElementById("total-idle-licences").textContent === "1");
  const before = await tile("pc-lab-01").locator(".idle").innerText();
  await page.waitForTimeout(2_200);
  const after = await tile("pc-lab-01").locator(".idle").innerText();
  assert(before !== after, `the idle time ticks: ${before} then ${after}`);
  await shot("03-updated");
});

await step("an alert fires and shows above the grid", async () => {
  // The server's rule: ansys open but idle in Lab A, for 0 s.
  const item = page.locator('#alert-list li[data-alert="ansys-idle"]');
  await item.waitFor({ timeout: 10_000 });
  const text = await item.innerText();
  assert(text.includes("ansys is open but idle on pc-lab-01 (Lab A)"), `alert shown: ${text}`);
  await page.waitForFunction(() => document.getElementById("total-alerts").textContent === "1");
  await shot("03b-alert");
});

await step("filter by text and by group", async () => {
  await page.fill("#filter", "lab-02");
  await tile("pc-lab-01").waitFor({ state: "hidden" });
  assert((await page.locator("section.group-section:not([hidden]) h2").allInnerTexts()).join() === "Lab B", "only the Lab B section is shown");
  assert(await tile("pc-lab-02").isVisible(), "pc-lab-02 still shown");
  await page.fill("#filter", "idle licence");
  await tile("pc-lab-01").waitFor();
  assert(!(await tile("pc-lab-02").isVisible()), "filtering by app state");
  await page.fill("#filter", "");
  await page.selectOption("#group", "Lab B");
  await tile("pc-lab-01").waitFor({ state: "hidden" });
  assert(await tile("pc-lab-02").isVisible(), "Lab B shown");
  await shot("04-filtered");
  await page.selectOption("#group", "*");
  await tile("pc-lab-01").waitFor();
  await page.selectOption("#sort", "idle");
  await page.waitForFunction(() => [...document.querySelectorAll("section:not([hidden]) button.tile")][0]?.dataset.host === "pc-lab-01");
  await page.selectOption("#sort", "name");
});

await step("the detail view lists processes and draws the timeline", async () => {
  await tile("pc-lab-01").focus();
  await page.keyboard.press("Enter");
  const dialog = page.locator("dialog#detail");
  await dialog.waitFor({ state: "visible" });
  const first = () => page.locator("#processes tbody tr").first().locator("td").first().innerText();
  assert((await page.locator("#processes tbody tr").count()) === 3, "three processes");
  assert((await first()) === "ansysedt.exe", `top CPU first: ${await first()}`);
  await page.locator('#processes th[data-key="cpu"] button').click();
  assert((await first()) === "System", `then lowest CPU first: ${await first()}`);
  await page.locator('#processes th[data-key="name"] button').click();
  assert((await page.locator('#processes th[data-key="name"]').getAttribute("aria-sort")) === "ascending", "sorted by name");
  await page.locator("#timeline svg").waitFor({ timeout: 10_000 });
  for (const state of ["active", "idle", "offline", "interactive", "computing"]) {
    const n = await page.locator(`#timeline rect.band[data-state="${state}"]`).count();
    assert(n >= 1, `a ${state} band in the timeline`);
  }
  const described = await page.locator("#timeline svg").getAttribute("aria-label");
  assert(described.includes("Activity") && described.includes("Ansys"), `timeline description: ${described}`);
  await shot("05-detail");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
});

await step("events missed while disconnected are refetched on reconnect", async () => {
  await page.evaluate(() => window.idlewatch.socket.disconnect());
  await page.waitForFunction(() => document.getElementById("connection").textContent.includes("Reconnecting"));
  await lab2.send({
    captured_at: Date.now(), group: "Lab B", idle_seconds: 1, user_active: true, cpu_percent: 5,
    memory_percent: 22, foreground_process: "excel.exe", processes: processes.slice(0, 1),
  });
  await page.evaluate(() => window.idlewatch.socket.connect());
  await page.waitForFunction(() => document.querySelector('button.tile[data-host="pc-lab-02"]').innerText.includes("excel.exe"));
});

await step("a user logged on without a session helper is flagged on the tile and in the totals", async () => {
  await lab2.send({
    captured_at: Date.now(), group: "Lab B", idle_seconds: null, user_active: null, cpu_percent: 5,
    memory_percent: 22, idle_source: "helper_missing",
    session: { user: "LAB\\student7", since: new Date(Date.now() - 30 * MIN).toISOString(), source: "system" },
    processes: processes.slice(0, 1),
  });
  await page.waitForFunction(() => document.querySelector('button.tile[data-host="pc-lab-02"]').classList.contains("is-tampered"));
  const text = await tile("pc-lab-02").innerText();
  assert(text.includes("Helper missing"), `helper_missing shown: ${text}`);
  const why = await tile("pc-lab-02").locator(".who").getAttribute("title");
  assert(why.includes("LAB\\student7") && why.includes("not reporting"), `explained: ${why}`);
  await page.waitForFunction(() => document.getElementById("total-helpers-missing").textContent === "1");
  await shot("06-helper-missing");
  // The helper comes back: the flag goes.
  await lab2.send({
    captured_at: Date.now(), group: "Lab B", idle_seconds: 2, user_active: true, cpu_percent: 5,
    memory_percent: 22, idle_source: "win32", foreground_process: "excel.exe",
    session: { user: "LAB\\student7", source: "helper" }, processes: processes.slice(0, 1),
  });
  await page.waitForFunction(() => document.getElementById("total-helpers-missing").textContent === "0");
  const back = await tile("pc-lab-02").innerText();
  assert(back.includes("Active") && !back.includes("Helper missing"), `helper back: ${back}`);
});

await step("a host whose agent disconnects shows offline", async () => {
  lab1.close();
  await page.waitForFunction(() => document.querySelector('button.tile[data-host="pc-lab-01"] .badge').textContent === "offline", null, { timeout: 10_000 });
  const text = await tile("pc-lab-01").innerText();
  assert(text.includes("Offline") && text.includes("for "), `offline shown: ${text}`);
  await page.waitForFunction(() => document.getElementById("total-online").textContent === "1 / 2");
  await shot("07-offline");
  // An offline PC holds no licence: the alert resolves and the panel goes.
  await page.locator("#alerts").waitFor({ state: "hidden", timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById("total-alerts").textContent === "0");
});

await step("readable on a phone", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 392, `no sideways scrolling on a phone (${width}px wide)`);
  await shot("08-phone");
});

await step("no script errors", async () => {
  const real = consoleErrors.filter((e) => !/401|403|Failed to load resource/.test(e));
  assert(real.length === 0, `console errors: ${real.join("\n")}`);
});

lab2.close();
await browser.close();
