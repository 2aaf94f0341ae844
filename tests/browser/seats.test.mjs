// End-to-end test of the free-seat page (/seats), its kiosk mode and the dashboard's rooms in
// Debian's Chromium (playwright-core), against a running idlewatch-server with a public seat
// view, a room of desks ("Lab CTI") and an SVG floor plan ("Library"); real Socket.IO agents
// (socket.io-client) report. tests/tests/seats_page.rs starts the server.
//
//   node seats.test.mjs SERVER_URL VIEWER_TOKEN AGENT_TOKEN ARTIFACTS_DIR LAB_CTI_TOKEN ADMIN_TOKEN
//
// LAB_CTI_TOKEN is a viewer token scoped to "Lab CTI": its dashboard must show that lab only.
// ADMIN_TOKEN deletes a PC's data, which must empty its place on the open page.
//
// Prints "ok <step>" per step; exits non-zero at the first failure, with a screenshot of it.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";

const [url, viewer, agentToken, outDir, labToken, adminToken] = process.argv.slice(2);
if (!adminToken) {
  console.error("usage: node seats.test.mjs SERVER_URL VIEWER_TOKEN AGENT_TOKEN ARTIFACTS_DIR LAB_CTI_TOKEN ADMIN_TOKEN");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
const page = await context.newPage();
const consoleErrors = [];
const failedRequests = [];
const watch = (p) => {
  p.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  p.on("pageerror", (e) => consoleErrors.push(String(e)));
  p.on("response", (r) => { if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.url()}`); });
};
watch(page);
// Everything the public page receives: API answers and Socket.IO frames.
const received = [];
page.on("response", async (r) => {
  if (r.url().includes("/api/")) received.push(await r.text().catch(() => ""));
});
page.on("websocket", (ws) => ws.on("framereceived", (f) => received.push(String(f.payload))));

const shot = (name, p = page) => p.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
function assert(cond, message) { if (!cond) throw new Error(message); }
const agents = [];

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.error(`FAILED ${name}: ${e.stack || e}`);
    await shot(`failed-${name.replace(/\W+/g, "-")}`).catch(() => {});
    agents.forEach((a) => a.close());
    await browser.close();
    process.exit(1);
  }
}

async function agent(name) {
  const socket = io(url, { auth: { token: agentToken }, transports: ["websocket"], reconnection: false });
  await new Promise((resolve, reject) => { socket.on("connect", resolve); socket.on("connect_error", reject); });
  socket.emit("agent_register", { host: name });
  const a = {
    async send(snapshot) {
      const ack = await socket.timeout(10_000).emitWithAck("agent_snapshot", { host: name, ...snapshot });
      assert(ack && ack.ok, `snapshot of ${name} refused: ${JSON.stringify(ack)}`);
    },
    close() { socket.disconnect(); },
  };
  agents.push(a);
  return a;
}

// What no seat page may show.
const PRIVATE = ["zelda.q", "solver-x.exe", "Thesis draft", "calc-fg.exe"];
function snapshot(idle, watched = {}) {
  return {
    captured_at: new Date().toISOString(),
    idle_seconds: idle,
    user_active: idle < 60,
    session: { user: "zelda.q", source: "helper" },
    foreground_process: "calc-fg.exe",
    foreground_title: "Thesis draft - Writer",
    processes: [{ pid: 9, name: "solver-x.exe", username: "zelda.q", cpu_percent: 3 }],
    watched,
  };
}
const MATLAB = { MATLAB: { running: true, state: "interactive" } };
const place = (host, p = page) => p.locator(`.lab-room [aria-label^="${host}:"]`);
const classOf = async (host, p = page) => (await place(host, p).first().getAttribute("class")) || "";
async function waitClass(host, cls, p = page) {
  await p.waitForFunction(([h, c]) => {
    const node = document.querySelector(`.lab-room [aria-label^="${h}:"]`);
    return node && node.classList.contains(c);
  }, [host, cls], { timeout: 10_000 });
}

// Lab CTI: pc01 in use (MATLAB), pc02 and pc03 free (pc03 without MATLAB), pc04 reports then
// leaves (offline); pc05 is only in the room. Library: lib01 free, lib02 in use.
const pcs = {};
await step("agents report", async () => {
  for (const name of ["pc01", "pc02", "pc03", "pc04", "lib01", "lib02"]) pcs[name] = await agent(name);
  await pcs.pc01.send(snapshot(3, MATLAB));
  await pcs.pc02.send(snapshot(4000, MATLAB));
  await pcs.pc03.send(snapshot(4000));
  await pcs.pc04.send(snapshot(1));
  await pcs.lib01.send({ ...snapshot(0), idle_source: "no_session", session: null });
  await pcs.lib02.send(snapshot(2));
  pcs.pc04.close();
});

await step("the public page shows each lab, its room and counts without a token", async () => {
  await page.goto(`${url}/seats`);
  await page.locator(".lab", { hasText: "Lab CTI" }).waitFor({ timeout: 15_000 });
  await waitClass("pc01", "seat-in_use");
  assert((await classOf("pc02")).includes("seat-free"), await classOf("pc02"));
  assert((await classOf("pc04")).includes("seat-offline"), await classOf("pc04"));
  assert((await classOf("pc05")).includes("seat-unknown"), await classOf("pc05"));
  assert(await page.locator(".lab", { hasText: "Lab CTI" }).locator(".aisle").count() === 1, "the aisle");
  const count = await page.locator(".lab", { hasText: "Lab CTI" }).locator(".lab-count").textContent();
  // pc06 (listed by the server's directory, never reported) counts, offline.
  assert(count.replace(/\s+/g, " ").trim() === "2 free of 5", count);
  assert(await page.locator("#total-free").textContent() === "3", "3 free in all");
  await shot("seats-01-page");
});

await step("the floor plan colours its PCs and leaves the drawing alone", async () => {
  await waitClass("LIB01", "seat-free");
  assert((await classOf("lib02")).includes("seat-in_use"), await classOf("lib02"));
  const wall = await page.locator("svg.plan #wall").getAttribute("class");
  assert(!wall || !wall.includes("place"), `the wall became a place: ${wall}`);
  const fill = await page.locator("svg.plan #LIB01 rect").evaluate((n) => getComputedStyle(n).fill);
  assert(fill === "rgb(31, 122, 58)", `a free PC is green: ${fill}`);
});

await step("nothing private reaches the page", async () => {
  const html = await page.content();
  for (const secret of PRIVATE) assert(!html.includes(secret), `the page shows ${secret}`);
  assert(received.some((r) => r.includes("seats")), "the API answers and frames were seen");
  for (const text of received) {
    for (const secret of PRIVATE) assert(!text.includes(secret), `the page received ${secret}: ${text.slice(0, 200)}`);
  }
});

await step("a PC taken and a PC left show within seconds", async () => {
  await pcs.pc02.send(snapshot(1, MATLAB));
  await pcs.lib02.send(snapshot(5000));
  await waitClass("pc02", "seat-in_use");
  await waitClass("lib02", "seat-free");
  const text = (name) => page.locator(".lab", { hasText: name }).locator(".lab-count").textContent();
  await page.waitForFunction(() => [...document.querySelectorAll(".lab .lab-count")]
    .map((n) => n.textContent.replace(/\s+/g, " ").trim()).join("|") === "1 free of 5|2 free of 2", null, { timeout: 5_000 })
    .catch(async () => { throw new Error(`counts: ${await text("Lab CTI")} / ${await text("Library")}`); });
  const frames = received.length;
  for (const secret of PRIVATE) assert(!received.slice(0, frames).join("").includes(secret), `a change carried ${secret}`);
});

await step("choosing software marks the free PCs without it", async () => {
  await page.locator("#app").selectOption("MATLAB");
  await waitClass("pc03", "seat-noapp");
  const label = await place("pc03").getAttribute("aria-label");
  assert(label === "pc03: free, no MATLAB", label);
  const count = await page.locator(".lab", { hasText: "Lab CTI" }).locator(".lab-count").textContent();
  assert(count.replace(/\s+/g, " ").trim() === "0 free with MATLAB of 5", count);
  await shot("seats-02-software");
  await page.locator("#app").selectOption("");
  await waitClass("pc03", "seat-free");
});

await step("a phone shows the page without sideways scrolling", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  watch(phone);
  await phone.goto(`${url}/seats`);
  await waitClass("pc01", "seat-in_use", phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await shot("seats-03-phone", phone);
  await phone.close();
});

await step("the kiosk shows one lab at a time in large type and moves on", async () => {
  const screen = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  watch(screen);
  await screen.goto(`${url}/seats?kiosk=1&every=3`);
  await screen.locator(".lab.current").waitFor({ timeout: 10_000 });
  assert(await screen.locator(".lab:visible").count() === 1, "one lab visible");
  const first = await screen.locator(".lab.current h2").textContent();
  const size = await screen.locator(".lab.current h2").evaluate((n) => parseFloat(getComputedStyle(n).fontSize));
  assert(size >= 48, `kiosk heading is ${size}px`);
  await shot("seats-04-kiosk", screen);
  await screen.waitForFunction((f) => document.querySelector(".lab.current h2").textContent !== f, first, { timeout: 8_000 });
  await screen.goto(`${url}/seats?kiosk=1&group=Library`);
  await screen.locator(".lab.current", { hasText: "Library" }).waitFor({ timeout: 10_000 });
  assert(await screen.locator(".lab").count() === 1, "only the Library");
  await shot("seats-05-kiosk-library", screen);
  await screen.close();
});

await step("the dashboard draws the rooms", async () => {
  const dash = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  watch(dash);
  await dash.goto(`${url}/dashboard?token=${encodeURIComponent(viewer)}`);
  await dash.locator("#rooms").waitFor({ state: "visible", timeout: 15_000 });
  assert(await dash.locator("#rooms .lab").count() === 2, "two rooms");
  await waitClass("pc01", "seat-in_use", dash);
  await waitClass("LIB01", "seat-free", dash);
  const heading = dash.locator("#rooms .lab h3", { hasText: "Lab CTI" });
  const before = await heading.textContent();
  const free = Number(/(\d+) free/.exec(before)[1]);
  await pcs.pc01.send(snapshot(5000, MATLAB));
  await waitClass("pc01", "seat-free", dash);
  await dash.waitForFunction(([f]) => [...document.querySelectorAll("#rooms .lab h3")]
    .some((h) => h.textContent.startsWith(`Lab CTI: ${f + 1} free`)), [free], { timeout: 5_000 });
  const never = dash.locator('button.tile[data-host="pc06"]');
  await never.waitFor({ timeout: 10_000 });
  const text = await never.textContent();
  assert(text.includes("Never reported"), `pc06's tile: ${text}`);
  await shot("seats-06-dashboard-rooms", dash);
  await dash.close();
});

await step("a token scoped to Lab CTI shows that lab only on the dashboard", async () => {
  const dash = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  watch(dash);
  const seen = [];
  dash.on("response", async (r) => { if (r.url().includes("/api/")) seen.push(await r.text().catch(() => "")); });
  dash.on("websocket", (ws) => ws.on("framereceived", (f) => seen.push(String(f.payload))));
  await dash.goto(`${url}/dashboard?token=${encodeURIComponent(labToken)}`);
  await dash.locator('button.tile[data-host="pc01"]').waitFor({ timeout: 15_000 });
  await dash.locator("#rooms").waitFor({ state: "visible", timeout: 15_000 });
  await waitClass("pc01", "seat-free", dash);
  assert(await dash.locator("#rooms .lab").count() === 1, "one room");
  assert(await dash.locator("#rooms .lab h3", { hasText: "Lab CTI" }).count() === 1, "the room is Lab CTI");
  assert(await dash.locator('button.tile[data-host="pc06"]').count() === 1, "the lab's never-seen PC is shown");
  // The Library keeps reporting: nothing of it reaches this dashboard.
  await pcs.lib01.send(snapshot(1));
  await pcs.pc02.send(snapshot(2, MATLAB));
  await dash.waitForTimeout(1500);
  assert(await dash.locator('button.tile[data-host^="lib"]').count() === 0, "a Library PC is shown");
  for (const text of seen) assert(!/lib0[12]|Library/.test(text), `the dashboard received the Library: ${text.slice(0, 200)}`);
  assert(seen.some((t) => t.includes("pc02")), "Lab CTI's telemetry arrived");
  await shot("seats-07-dashboard-one-lab", dash);
  await dash.close();
});

await step("a PC whose data is deleted leaves its place empty on the open page", async () => {
  assert((await classOf("pc04")).includes("seat-offline"), await classOf("pc04"));
  const answer = await fetch(`${url}/api/v1/hosts/pc04/snapshots`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  assert(answer.ok, `delete: ${answer.status} ${await answer.text()}`);
  await waitClass("pc04", "seat-unknown");
  const label = await place("pc04").getAttribute("aria-label");
  assert(label === "pc04: not reporting yet", label);
  await page.waitForFunction(() => {
    const lab = [...document.querySelectorAll(".lab")].find((l) => l.textContent.includes("Lab CTI"));
    return lab && / of 4$/.test(lab.querySelector(".lab-count").textContent.replace(/\s+/g, " ").trim());
  }, null, { timeout: 5_000 });
  await shot("seats-08-deleted-pc");
});

await step("no errors in the console", async () => {
  assert(failedRequests.length === 0, failedRequests.join("\n"));
  assert(consoleErrors.length === 0, consoleErrors.join("\n"));
});
agents.forEach((a) => a.close());
await browser.close();
