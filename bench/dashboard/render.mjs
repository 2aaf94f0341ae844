// Dashboard smoothness under load: N hosts reporting every 5 s (N/5 telemetry events per
// second, 300-process snapshots) into one dashboard page in Debian's Chromium, measuring the
// page's main thread from inside (frame intervals, long tasks) and through the DevTools
// protocol (script, layout and style time).
//
//   node bench/dashboard/render.mjs [--hosts 500] [--seconds 30] [--server target/release/idlewatch-server]
//
// Uses the packages of tests/browser (run scripts/install-test-deps first).

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const { io } = require("socket.io-client");

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const HOSTS = Number(args.hosts ?? 500);
const SECONDS = Number(args.seconds ?? 30);
const SERVER = args.server ?? "target/release/idlewatch-server";

const data = mkdtempSync(join(tmpdir(), "iw-dash-"));
// Many agents from one address, each sending at once: the abuse limits are lifted.
const server = spawn(SERVER, ["--open", "--listen", "127.0.0.1:0", "--data-dir", data], {
  stdio: ["ignore", "ignore", "pipe"],
  env: { ...process.env, IDLEWATCH_SNAPSHOT_RATE: "0", IDLEWATCH_CONNECT_RATE: "0" },
});
const url = await new Promise((resolve, reject) => {
  let buf = "";
  server.stderr.on("data", (d) => {
    buf += d;
    const m = buf.match(/listening on (http:\/\/[\d.:]+)/);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`server exited ${code}: ${buf}`)));
});

function snapshot(i, k) {
  const processes = [];
  for (let p = 0; p < 300; p += 1) {
    processes.push({ pid: 1000 + p, name: `proc-${(p + k) % 320}.exe`, username: "lab",
      cpu_percent: ((p * 7 + k) % 100) / 10, memory_bytes: 10_000_000 + p * 4096 });
  }
  const active = (i + k) % 3 !== 0;
  return {
    host: `lab-${String(i).padStart(3, "0")}`, group: `Room ${1 + (i % 10)}`, captured_at: Date.now(),
    idle_seconds: active ? 2 : 60 + k, user_active: active, cpu_percent: (i * 13 + k) % 100,
    memory_percent: 30 + (i % 50), foreground_process: active ? "code.exe" : "explorer.exe",
    watched: { Ansys: { running: i % 4 === 0, state: i % 4 === 0 ? (active ? "interactive" : "idle") : "not_running" } },
    processes,
  };
}

// One connection per host, as a real fleet: each registers, so the host shows online.
const agents = [];
for (let i = 0; i < HOSTS; i += 1) {
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  await new Promise((r) => socket.on("connect", r));
  socket.emit("agent_register", { host: snapshot(i, 0).host });
  socket.emit("agent_snapshot", snapshot(i, 0));
  agents.push(socket);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
await page.goto(`${url}/dashboard`);
await page.waitForFunction((n) => document.querySelectorAll("button.tile").length >= n, HOSTS, { timeout: 60_000 });
const cdp = await page.context().newCDPSession(page);
await cdp.send("Performance.enable");
const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));

await page.evaluate(() => {
  window.__bench = { frames: [], long: [] };
  let last = performance.now();
  const tick = (t) => { window.__bench.frames.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__bench.long.push(e.duration); })
    .observe({ type: "longtask", buffered: false });
});
const before = await metrics();
const started = Date.now();
let sent = 0;
const perSecond = HOSTS / 5;
let k = 1;
while (Date.now() - started < SECONDS * 1000) {
  const tickStart = Date.now();
  for (let j = 0; j < perSecond; j += 1) {
    const i = (sent + j) % HOSTS;
    agents[i].emit("agent_snapshot", snapshot(i, k));
  }
  sent += perSecond;
  k += 1;
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tickStart))));
}
const after = await metrics();
const result = await page.evaluate(() => window.__bench);
const elapsed = (Date.now() - started) / 1000;
const frames = result.frames.slice(1).sort((a, b) => a - b);
const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))] ?? 0;
const d = (name) => after[name] - before[name];
const shown = await page.evaluate(() => document.getElementById("total-online").textContent);
console.log(`dashboard: ${HOSTS} hosts, ${(sent / elapsed).toFixed(0)} telemetry events/s for ${elapsed.toFixed(1)} s (300-process snapshots); header ${shown}`);
console.log(`  frames     ${(frames.length / elapsed).toFixed(1)}/s; interval p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${q(1).toFixed(1)} ms`);
console.log(`  long tasks ${result.long.length} (> 50 ms), ${result.long.reduce((a, b) => a + b, 0).toFixed(0)} ms in all`);
console.log(`  main thread busy ${(100 * d("TaskDuration") / elapsed).toFixed(1)} % (script ${(100 * d("ScriptDuration") / elapsed).toFixed(1)} %, layout ${(100 * d("LayoutDuration") / elapsed).toFixed(1)} %, style ${(100 * d("RecalcStyleDuration") / elapsed).toFixed(1)} %)`);
console.log(`  JS heap    ${(after.JSHeapUsedSize / 1048576).toFixed(1)} MiB; DOM nodes ${after.Nodes}`);
for (const a of agents) a.close();
await browser.close();
server.kill("SIGTERM");
rmSync(data, { recursive: true, force: true });
