// The free-seat page under load: N PCs in L labs (each drawn as a room of desks) reporting
// every 5 s, seat states changing often, into one /seats page in Debian's Chromium — frame
// intervals and long tasks from inside the page, main-thread time through the DevTools
// protocol, as render.mjs measures the dashboard. Two Node sockets beside it count what each
// kind of client receives: a dashboard (every snapshot as `telemetry`) and a seat view (only
// `seats` changes).
//
//   node bench/dashboard/seats.mjs [--hosts 2000] [--labs 40] [--seconds 30] [--processes 300]
//                                  [--server target/release/idlewatch-server]
//
// Uses the packages of tests/browser (run scripts/install-test-deps first).

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const { io } = require("socket.io-client");

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const HOSTS = Number(args.hosts ?? 2000);
const LABS = Number(args.labs ?? 40);
const SECONDS = Number(args.seconds ?? 30);
const PROCESSES = Number(args.processes ?? 300);
const SERVER = args.server ?? "target/release/idlewatch-server";

const host = (i) => `pc-${String(i).padStart(4, "0")}`;
const lab = (i) => `Lab ${String(1 + (i % LABS)).padStart(2, "0")}`;

// Each lab's room: rows of 10 desks with an aisle after the fifth.
const data = mkdtempSync(join(tmpdir(), "iw-seats-"));
const rooms = new Map();
for (let i = 0; i < HOSTS; i += 1) {
  if (!rooms.has(lab(i))) rooms.set(lab(i), []);
  rooms.get(lab(i)).push(host(i));
}
let config = "[seats]\nidle_after = \"1m\"\n\n";
for (const [name, pcs] of rooms) {
  const rows = [];
  for (let r = 0; r < pcs.length; r += 10) {
    const row = pcs.slice(r, r + 10);
    rows.push(JSON.stringify([...row.slice(0, 5), ".", ...row.slice(5)].join(" ")));
  }
  config += `[[seats.maps]]\ngroup = "${name}"\nrows = [${rows.join(", ")}]\n\n`;
}
writeFileSync(join(data, "server.toml"), config);

// Many agents from one address, each sending at once: the abuse limits are lifted.
const server = spawn(SERVER, ["--open", "--listen", "127.0.0.1:0", "--data-dir", join(data, "store"), "--config", join(data, "server.toml")], {
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

// A third of the snapshots say the user has been away an hour: seats flip between free and in
// use all the time (far more often than in a real lab).
function snapshot(i, k) {
  const processes = [];
  for (let p = 0; p < PROCESSES; p += 1) {
    processes.push({ pid: 1000 + p, name: `proc-${(p + k) % 320}.exe`, username: "lab",
      cpu_percent: ((p * 7 + k) % 100) / 10, memory_bytes: 10_000_000 + p * 4096 });
  }
  const away = (i + k) % 3 === 0;
  return {
    host: host(i), group: lab(i), captured_at: Date.now(),
    idle_seconds: away ? 3600 : 2, user_active: !away, cpu_percent: (i * 13 + k) % 100,
    memory_percent: 30 + (i % 50), foreground_process: away ? "explorer.exe" : "code.exe",
    watched: { MATLAB: { running: i % 4 === 0, state: i % 4 === 0 ? "interactive" : "not_running" } },
    processes,
  };
}

const agents = [];
for (let i = 0; i < HOSTS; i += 1) {
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  await new Promise((r) => socket.on("connect", r));
  socket.emit("agent_register", { host: host(i) });
  socket.emit("agent_snapshot", snapshot(i, 0));
  agents.push(socket);
}

// What a dashboard and a seat view receive, in bytes of JSON payload.
const received = { telemetry: { events: 0, bytes: 0 }, seats: { events: 0, bytes: 0, seats: 0 } };
const dashboard = io(url, { transports: ["websocket"], forceNew: true });
dashboard.on("telemetry", (s) => { received.telemetry.events += 1; received.telemetry.bytes += JSON.stringify(s).length; });
const seatView = io(url, { transports: ["websocket"], forceNew: true, auth: { view: "seats" } });
seatView.on("seats", (e) => {
  if (e.full) return;
  received.seats.events += 1; received.seats.bytes += JSON.stringify(e).length; received.seats.seats += e.seats.length;
});
await Promise.all([dashboard, seatView].map((s) => new Promise((r) => s.on("connect", r))));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
await page.goto(`${url}/seats`);
await page.waitForFunction((n) => document.querySelectorAll(".lab-room .place:not(.seat-unknown)").length >= n, HOSTS, { timeout: 120_000 });
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
for (const r of Object.values(received)) for (const k of Object.keys(r)) r[k] = 0;
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
  if (sent % HOSTS === 0) k += 1;
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tickStart))));
}
const after = await metrics();
const result = await page.evaluate(() => window.__bench);
const elapsed = (Date.now() - started) / 1000;
const frames = result.frames.slice(1).sort((a, b) => a - b);
const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))] ?? 0;
const d = (name) => after[name] - before[name];
const shown = await page.evaluate(() => document.getElementById("total-free").textContent);
const t = received.telemetry, s = received.seats;
console.log(`seat page: ${HOSTS} PCs in ${LABS} labs (rooms of desks), ${(sent / elapsed).toFixed(0)} snapshots/s for ${elapsed.toFixed(1)} s (${PROCESSES}-process snapshots); ${shown} free shown`);
console.log(`  frames     ${(frames.length / elapsed).toFixed(1)}/s; interval p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${q(1).toFixed(1)} ms`);
console.log(`  long tasks ${result.long.length} (> 50 ms), ${result.long.reduce((a, b) => a + b, 0).toFixed(0)} ms in all`);
console.log(`  main thread busy ${(100 * d("TaskDuration") / elapsed).toFixed(1)} % (script ${(100 * d("ScriptDuration") / elapsed).toFixed(1)} %, layout ${(100 * d("LayoutDuration") / elapsed).toFixed(1)} %, style ${(100 * d("RecalcStyleDuration") / elapsed).toFixed(1)} %)`);
console.log(`  JS heap    ${(after.JSHeapUsedSize / 1048576).toFixed(1)} MiB; DOM nodes ${after.Nodes}`);
console.log(`  a dashboard received ${(t.events / elapsed).toFixed(0)} telemetry events/s, ${(t.bytes / elapsed / 1024).toFixed(0)} KiB/s (${(t.bytes / Math.max(1, t.events)).toFixed(0)} B each)`);
console.log(`  a seat view received ${(s.events / elapsed).toFixed(2)} seats events/s, ${(s.bytes / elapsed / 1024).toFixed(1)} KiB/s (${(s.bytes / Math.max(1, s.events)).toFixed(0)} B each, ${(s.bytes / Math.max(1, s.seats)).toFixed(0)} B per changed PC, ${(s.seats / elapsed).toFixed(0)} changed PCs/s)`);
for (const a of [...agents, dashboard, seatView]) a.close();
await browser.close();
server.kill("SIGTERM");
rmSync(data, { recursive: true, force: true });
