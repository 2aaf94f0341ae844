// Idlewatch dashboard: plain modern JavaScript, no build step. It reads the HTTP API with the
// viewer token and follows `telemetry` and `agent_list` over Socket.IO. Events only mark hosts
// dirty; the page is updated at most once per animation frame, and only the tiles that changed
// are touched (tiles are created once per host and reordered, never rebuilt).

import { $, Rejected, api, apiText, bindTokenForm, duration, el, setText, showRejected, svg, token } from "./common.js";
import { loadRooms } from "./rooms.js";

bindTokenForm();

const STATE_LABEL = {
  interactive: "in use",
  computing: "computing",
  idle: "idle licence",
  not_running: "not running",
};
const LEGACY_APPS = ["rocky", "ansys"];
const DAY_MS = 86_400_000;

// --- formatting ---
function bytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

// --- what a snapshot says (both our agent's fields and the Python original's flat ones) ---
function appsOf(s) {
  const apps = [];
  if (s.watched && typeof s.watched === "object") {
    for (const [name, app] of Object.entries(s.watched)) {
      if (app && typeof app === "object") apps.push({ name, state: app.state || (app.running ? "idle" : "not_running") });
    }
    return apps;
  }
  for (const name of LEGACY_APPS) {
    const running = s[`${name}_running`];
    if (typeof running !== "boolean") continue;
    const state = !running ? "not_running"
      : s[`${name}_in_focus`] && s[`${name}_user_active`] ? "interactive" : "idle";
    apps.push({ name: name[0].toUpperCase() + name.slice(1), state });
  }
  return apps;
}

function fieldsOf(s) {
  return {
    idle: num(s.idle_seconds) ?? num(s.idle_time),
    active: typeof s.user_active === "boolean" ? s.user_active : null,
    cpu: num(s.cpu_percent),
    memory: num(s.memory_percent),
    foreground: typeof s.foreground_process === "string" ? s.foreground_process : "",
    processes: Array.isArray(s.processes) ? s.processes : null,
    apps: appsOf(s),
    group: typeof s.group === "string" ? s.group : "",
    // Where idle time came from; "helper_missing" (someone is logged on but their session's
    // helper is not reporting: stopped or removed) and "no_session" say why there is none.
    source: typeof s.idle_source === "string" ? s.idle_source : "",
    user: s.session && typeof s.session.user === "string" ? s.session.user : "",
  };
}

const HELPER_MISSING = "helper_missing";
const tampered = (h) => h.online && h.f.source === HELPER_MISSING;

function whoText(h) {
  const f = h.f;
  if (h.neverSeen) return "Never reported";
  if (!h.online) return "Offline";
  if (f.source === HELPER_MISSING) return "Helper missing";
  if (f.source === "no_session") return "Nobody logged on";
  return f.active === true ? "Active" : f.active === false ? "Idle" : "No user data";
}

// --- state ---
const hosts = new Map(); // name -> host
let connected = new Set(); // hosts with a connected agent (agent_list)
const dirty = new Set();
let layoutDirty = true;
let frame = 0;

function host(name) {
  let h = hosts.get(name);
  if (!h) {
    h = { name, group: "", online: false, lastSeen: 0, receivedAt: 0, f: fieldsOf({}), snapshot: null, tile: null };
    hosts.set(name, h);
    layoutDirty = true;
  }
  return h;
}

function applySnapshot(s, receivedAt) {
  if (!s || typeof s.host !== "string") return;
  const h = host(s.host);
  h.snapshot = s;
  h.neverSeen = false;
  h.f = fieldsOf(s);
  if (h.f.group && h.f.group !== h.group && !h.configuredGroup) { h.group = h.f.group; layoutDirty = true; }
  h.receivedAt = receivedAt;
  h.lastSeen = Math.max(h.lastSeen, receivedAt);
  markDirty(h);
}

function markDirty(h) {
  dirty.add(h);
  schedule();
}

function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

// --- tiles ---

function makeTile(h) {
  const item = el("li");
  const b = el("button", "tile");
  b.type = "button";
  b.dataset.host = h.name;
  b.setAttribute("aria-haspopup", "dialog");
  const head = el("span", "row");
  const name = el("span", "name", h.name);
  const badge = el("span", "badge");
  head.append(name, badge);
  const activity = el("span", "row activity");
  const who = el("span", "who");
  const idle = el("span", "idle");
  activity.append(who, idle);
  const fg = el("span", "fg");
  const apps = el("span", "apps");
  const meters = el("span", "meters");
  const cpuBar = el("span", "bar"); const cpuFill = el("span"); cpuBar.append(cpuFill);
  const memBar = el("span", "bar"); const memFill = el("span"); memBar.append(memFill);
  const cpuVal = el("span", "val"); const memVal = el("span", "val");
  meters.append(el("span", "", "CPU"), cpuBar, cpuVal, el("span", "", "Memory"), memBar, memVal);
  b.append(head, activity, fg, apps, meters);
  item.append(b);
  b.addEventListener("click", () => openDetail(h.name));
  h.tile = { item, b, badge, who, idle, fg, apps, cpuFill, cpuVal, memFill, memVal, appsKey: "" };
}

function ticking(h, now) {
  if (h.neverSeen) return { text: "", seconds: null };
  if (!h.online) return { text: `for ${duration((now - h.lastSeen) / 1000)}`, seconds: null };
  if (h.f.active) return { text: "", seconds: null };
  if (h.f.idle === null) return { text: "", seconds: null };
  const seconds = h.f.idle + Math.max(0, now - h.receivedAt) / 1000;
  return { text: `idle ${duration(seconds)}`, seconds };
}

function updateTile(h, now) {
  if (!h.tile) makeTile(h);
  const t = h.tile;
  const f = h.f;
  t.b.classList.toggle("is-online", h.online);
  t.b.classList.toggle("is-offline", !h.online);
  t.b.classList.toggle("is-active", h.online && f.active === true);
  t.b.classList.toggle("is-idle", h.online && f.active !== true);
  t.b.classList.toggle("is-tampered", tampered(h));
  setText(t.badge, h.online ? "online" : h.neverSeen ? "never seen" : "offline");
  t.badge.className = `badge ${h.online ? "online" : "offline"}`;
  setText(t.who, whoText(h));
  t.who.title = tampered(h)
    ? `${f.user || "A user"} is logged on, but the session helper is not reporting: idle time and the foreground app are unknown (helper stopped or removed?)`
    : f.user ? `Logged on: ${f.user}` : "";
  setText(t.idle, ticking(h, now).text);
  setText(t.fg, f.foreground ? `▶ ${f.foreground}` : "");
  t.fg.title = f.foreground;
  const appsKey = f.apps.map((a) => `${a.name}:${a.state}`).join("|");
  if (appsKey !== t.appsKey) {
    t.appsKey = appsKey;
    t.apps.replaceChildren(...f.apps.map((a) => {
      const chip = el("span", `app state-${a.state}`, `${a.name} · ${STATE_LABEL[a.state] || a.state}`);
      chip.dataset.app = a.name;
      chip.dataset.state = a.state;
      return chip;
    }));
  }
  const pct = (v) => (v === null ? "" : `${Math.round(v)}%`);
  t.cpuFill.style.width = `${Math.min(100, f.cpu ?? 0)}%`;
  t.memFill.style.width = `${Math.min(100, f.memory ?? 0)}%`;
  setText(t.cpuVal, pct(f.cpu));
  setText(t.memVal, pct(f.memory));
  const appText = f.apps.map((a) => `${a.name} ${STATE_LABEL[a.state] || a.state}`).join(", ");
  t.b.setAttribute("aria-label", [
    h.name, h.online ? "online" : "offline", t.who.textContent, h.online && f.user && `user ${f.user}`, t.idle.textContent,
    f.foreground && `foreground ${f.foreground}`, appText,
    f.cpu !== null && `CPU ${Math.round(f.cpu)} percent`, f.memory !== null && `memory ${Math.round(f.memory)} percent`,
  ].filter(Boolean).join(", "));
}

// --- filter, sort, group ---
const controls = { filter: $("filter"), group: $("group"), sort: $("sort") };

function matches(h, needle) {
  if (!needle) return true;
  const hay = [h.name, h.group, h.f.foreground, ...h.f.apps.map((a) => `${a.name} ${STATE_LABEL[a.state] || ""}`)]
    .join(" ").toLowerCase();
  return hay.includes(needle);
}

function sorted(list, now) {
  const by = controls.sort.value;
  const idleOf = (h) => (h.online ? ticking(h, now).seconds ?? -1 : -2);
  return list.sort((a, b) => {
    if (by === "idle") return idleOf(b) - idleOf(a) || collator.compare(a.name, b.name);
    if (by === "seen") return a.lastSeen - b.lastSeen || collator.compare(a.name, b.name);
    return collator.compare(a.name, b.name);
  });
}

const sections = new Map(); // group -> {section, list}

function layout(now) {
  const needle = controls.filter.value.trim().toLowerCase();
  const wanted = controls.group.value;
  const groups = [...new Set([...hosts.values()].map((h) => h.group))].sort(collator.compare);
  // The group menu ("*" = all) keeps its choice while groups come and go.
  const options = ["*", ...groups];
  const have = [...controls.group.options].map((o) => o.value);
  if (have.join("\u0000") !== options.join("\u0000")) {
    controls.group.replaceChildren(...options.map((g) => {
      const o = el("option", "", g === "*" ? "All groups" : g || "Ungrouped");
      o.value = g;
      return o;
    }));
    controls.group.value = options.includes(wanted) ? wanted : "*";
  }
  const visible = sorted([...hosts.values()].filter((h) => (wanted === "*" || h.group === wanted) && matches(h, needle)), now);
  const grid = $("grid");
  const order = [];
  for (const g of groups) {
    const members = visible.filter((h) => h.group === g);
    let s = sections.get(g);
    if (!members.length) { if (s) s.section.hidden = true; continue; }
    if (!s) {
      const section = el("section", "group-section");
      const title = el("h2", "", g || (groups.length > 1 ? "Ungrouped" : "Hosts"));
      title.id = `group-${sections.size}`;
      section.setAttribute("aria-labelledby", title.id);
      const list = el("ul", "grid-list");
      section.append(title, list);
      s = { section, list, title };
      sections.set(g, s);
    }
    setText(s.title, g || (groups.length > 1 ? "Ungrouped" : "Hosts"));
    s.section.hidden = false;
    order.push(s.section);
    // Move only tiles that are out of place.
    members.forEach((h, i) => {
      if (!h.tile) updateTile(h, now);
      if (s.list.children[i] !== h.tile.item) s.list.insertBefore(h.tile.item, s.list.children[i] || null);
    });
    while (s.list.children.length > members.length) s.list.lastElementChild.remove();
  }
  order.forEach((section, i) => { if (grid.children[i] !== section) grid.insertBefore(section, grid.children[i] || null); });
  for (const s of sections.values()) if (!order.includes(s.section)) s.section.hidden = true;
  $("empty").hidden = hosts.size > 0;
  setText($("shown"), hosts.size ? `${visible.length} of ${hosts.size} hosts shown` : "");
}

function totals() {
  let online = 0, active = 0, idleLicences = 0, helpersMissing = 0;
  for (const h of hosts.values()) {
    if (!h.online) continue;
    online += 1;
    if (h.f.active === true) active += 1;
    if (tampered(h)) helpersMissing += 1;
    idleLicences += h.f.apps.filter((a) => a.state === "idle").length;
  }
  setText($("total-online"), `${online} / ${hosts.size}`);
  setText($("total-active"), String(active));
  setText($("total-idle-licences"), String(idleLicences));
  setText($("total-helpers-missing"), String(helpersMissing));
  $("total-helpers-missing").parentElement.classList.toggle("alert", helpersMissing > 0);
}

function render() {
  frame = 0;
  const now = Date.now();
  for (const h of dirty) updateTile(h, now);
  if (dirty.size && controls.sort.value !== "name") layoutDirty = true;
  if (dirty.size && controls.filter.value) layoutDirty = true;
  dirty.clear();
  if (layoutDirty) { layoutDirty = false; layout(now); }
  totals();
}

// Idle and offline times tick every second (text only; the order follows at the same pace).
setInterval(() => {
  const now = Date.now();
  for (const h of hosts.values()) if (h.tile) setText(h.tile.idle, ticking(h, now).text);
  if (controls.sort.value === "idle") { layoutDirty = true; schedule(); }
}, 1000);

for (const c of Object.values(controls)) c.addEventListener("input", () => { layoutDirty = true; schedule(); });

// --- loading and live updates ---
function setOnline(names) {
  connected = new Set(names);
  for (const name of connected) host(name);
  for (const h of hosts.values()) {
    const online = connected.has(h.name);
    if (online !== h.online) {
      h.online = online;
      if (!online) h.lastSeen = Math.max(h.lastSeen, Date.now() - 1);
      markDirty(h);
    }
  }
}

// --- alerts: those firing now, from the API on (re)connect, then from `alert` events ---
const firing = new Map();

function renderAlerts() {
  const list = $("alert-list");
  const items = [...firing.values()].sort((a, b) => (a.fired_at < b.fired_at) - (a.fired_at > b.fired_at));
  list.replaceChildren(...items.map((a) => {
    const li = document.createElement("li");
    li.dataset.alert = a.alert;
    li.dataset.kind = a.kind;
    const rule = document.createElement("span");
    rule.className = "rule";
    rule.textContent = a.alert;
    let summary;
    if (a.host && hosts.has(a.host)) {
      summary = document.createElement("button");
      summary.type = "button";
      summary.className = "summary";
      summary.addEventListener("click", () => openDetail(a.host));
    } else {
      summary = document.createElement("span");
    }
    summary.textContent = a.summary;
    li.append(rule, summary);
    return li;
  }));
  $("alerts").hidden = items.length === 0;
  setText($("total-alerts"), String(items.length));
}

// One rule on one subject fires at most once at a time: that, not the record's id (each
// server of a cluster numbers the records it keeps), says which alert an event is about.
function alertKey(a) {
  return `${a.alert}\u0000${a.host ?? ""}\u0000${a.host ? "" : a.group ?? ""}`;
}

function applyAlert(a) {
  if (!a || typeof a.alert !== "string") return;
  if (a.state === "firing") firing.set(alertKey(a), a); else firing.delete(alertKey(a));
  renderAlerts();
}

async function loadAlerts() {
  const answer = await api("/api/v1/alerts?state=firing");
  firing.clear();
  for (const a of answer.alerts || []) firing.set(alertKey(a), a);
  renderAlerts();
}

async function load() {
  const [list, data] = await Promise.all([api("/api/v1/hosts"), api("/data"), loadAlerts()]);
  for (const s of list.hosts) {
    const h = host(s.host);
    if (s.group && s.group !== h.group) { h.group = s.group; layoutDirty = true; }
    h.configuredGroup = Boolean(s.group);
    h.online = s.online;
    // Listed by the server's directory but never heard from: its agent is missing.
    h.neverSeen = s.never_seen === true;
    h.lastSeen = Date.parse(s.last_seen) || 0;
    h.receivedAt = Date.parse(s.received_at) || h.lastSeen;
    markDirty(h);
  }
  for (const [name, snapshot] of Object.entries(data)) {
    const h = host(name);
    applySnapshot({ ...snapshot, host: name }, h.receivedAt || Date.now());
  }
  schedule();
}


function status(text, live) {
  const c = $("connection");
  setText(c, text);
  c.className = `connection ${live ? "live" : "down"}`;
}

function connect() {
  // socket.io.min.js (served with the page, pinned from npm) defines `io`.
  const socket = window.io({ auth: token ? { token } : {} });
  // For the browser tests and for debugging from the console.
  window.idlewatch = { socket };
  socket.on("connect", () => {
    status("Live", true);
    // On every (re)connect: refetch, as events were missed while away.
    load().catch((e) => (e instanceof Rejected ? (socket.disconnect(), showRejected(e.message)) : status(`Cannot load: ${e.message}`, false)));
    loadRooms(socket, apiText).catch((e) => { if (!(e instanceof Rejected)) status(`Cannot load the rooms: ${e.message}`, false); });
  });
  socket.on("disconnect", () => status("Reconnecting…", false));
  socket.on("connect_error", (err) => {
    const message = String(err && err.message || err);
    if (/invalid token|authentication required/i.test(message)) {
      socket.disconnect();
      showRejected(`The server refused this token: ${message}`);
    } else {
      status("Reconnecting…", false);
    }
  });
  socket.on("telemetry", (s) => {
    applySnapshot(s, Date.now());
    const h = hosts.get(s && s.host);
    if (h && !h.online && connected.has(h.name)) { h.online = true; }
    if (detailHost === (s && s.host)) refreshProcesses();
  });
  socket.on("agent_list", (msg) => setOnline(Array.isArray(msg && msg.hosts) ? msg.hosts : []));
  socket.on("alert", applyAlert);
}

// --- detail: processes and the last 24 hours ---
const dialog = $("detail");
let detailHost = null;
let processSort = { key: "cpu", dir: -1 };

function processRows(snapshot) {
  const list = Array.isArray(snapshot && snapshot.processes) ? snapshot.processes : [];
  return list.map((p) => ({
    name: String(p.name ?? ""),
    pid: num(p.pid),
    cpu: num(p.cpu_percent),
    memory: num(p.memory_bytes) ?? num(p.memory_rss) ?? null,
    memoryPercent: num(p.memory_percent),
    user: String(p.username ?? p.user ?? ""),
  }));
}

function refreshProcesses() {
  const h = hosts.get(detailHost);
  if (!h) return;
  const rows = processRows(h.snapshot);
  const { key, dir } = processSort;
  rows.sort((a, b) => {
    const x = a[key], y = b[key];
    if (typeof x === "string" || typeof y === "string") return dir * collator.compare(String(x ?? ""), String(y ?? ""));
    return dir * ((x ?? -1) - (y ?? -1)) || collator.compare(a.name, b.name);
  });
  const body = $("processes").tBodies[0];
  body.replaceChildren(...rows.map((p) => {
    const tr = el("tr");
    tr.append(
      el("td", "", p.name),
      el("td", "num", p.pid === null ? "" : String(p.pid)),
      el("td", "num", p.cpu === null ? "" : p.cpu.toFixed(1)),
      el("td", "num", p.memory !== null ? bytes(p.memory) : p.memoryPercent !== null ? `${p.memoryPercent.toFixed(1)}%` : ""),
      el("td", "", p.user),
    );
    return tr;
  }));
  setText($("process-count"), rows.length ? `(${rows.length})` : "(none listed)");
  for (const th of $("processes").tHead.rows[0].cells) {
    if (th.dataset.key === key) th.setAttribute("aria-sort", dir < 0 ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

for (const th of $("processes").tHead.rows[0].cells) {
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.key;
    processSort = processSort.key === key ? { key, dir: -processSort.dir } : { key, dir: key === "name" || key === "user" ? 1 : -1 };
    refreshProcesses();
  });
}


function drawTimeline(data) {
  const W = 1000, left = 110, rowH = 22, gap = 8;
  const rows = [["Activity", data.bands, ""], ...Object.entries(data.apps).map(([name, bands]) => [name, bands, "app"])];
  const H = rows.length * (rowH + gap) + 24;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const span = data.to - data.from;
  const x = (t) => left + ((t - data.from) / span) * (W - left - 10);
  const described = [];
  rows.forEach(([label, bands, kind], i) => {
    const y = i * (rowH + gap);
    const text = svg("text", { x: 0, y: y + rowH * 0.72, class: "label" });
    text.textContent = label;
    root.append(text);
    root.append(svg("rect", { x: left, y, width: W - left - 10, height: rowH, fill: "#f0f1f4" }));
    for (const b of bands) {
      const cls = kind === "app" && b.state === "idle" ? "app-idle" : b.state;
      const r = svg("rect", { x: x(b.start), y, width: Math.max(0.5, x(b.end) - x(b.start)), height: rowH, class: `band ${cls}` });
      r.dataset.state = b.state;
      const title = svg("title", {});
      title.textContent = `${label}: ${b.state}, ${new Date(b.start).toLocaleTimeString()}–${new Date(b.end).toLocaleTimeString()}`;
      r.append(title);
      root.append(r);
    }
    const totals = {};
    for (const b of bands) totals[b.state] = (totals[b.state] || 0) + (b.end - b.start);
    described.push(`${label}: ${Object.entries(totals).map(([s, ms]) => `${s} ${duration(ms / 1000)}`).join(", ") || "no data"}`);
  });
  const axisY = rows.length * (rowH + gap) + 14;
  for (let k = 0; k <= 4; k += 1) {
    const t = data.from + (span * k) / 4;
    const label = svg("text", { x: Math.min(x(t), W - 40), y: axisY, class: "label", "text-anchor": k === 0 ? "start" : "middle" });
    label.textContent = new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    root.append(label);
  }
  root.setAttribute("aria-label", `Last 24 hours. ${described.join(". ")}`);
  $("timeline").replaceChildren(root);
}

async function openDetail(name) {
  detailHost = name;
  const h = hosts.get(name);
  setText($("detail-title"), name);
  const f = h.f;
  setText($("detail-summary"), [
    h.online ? "Online" : h.neverSeen ? "Never reported: listed by the directory, no agent has reported" : `Offline ${ticking(h, Date.now()).text}`,
    h.group && `group ${h.group}`,
    f.user && `user ${f.user}`,
    tampered(h) && "session helper not reporting",
    f.foreground && `foreground ${f.foreground}`,
    f.cpu !== null && `CPU ${Math.round(f.cpu)}%`,
    f.memory !== null && `memory ${Math.round(f.memory)}%`,
  ].filter(Boolean).join(" · "));
  processSort = { key: "cpu", dir: -1 };
  refreshProcesses();
  $("timeline").replaceChildren(el("p", "hint", "Loading the last 24 hours…"));
  if (!dialog.open) dialog.showModal();
  try {
    const to = Date.now();
    const data = await api(`/api/v1/hosts/${encodeURIComponent(name)}/timeline?from=${new Date(to - DAY_MS).toISOString()}&to=${new Date(to).toISOString()}`);
    if (detailHost === name) drawTimeline(data);
  } catch (e) {
    if (e instanceof Rejected) showRejected(e.message);
    else $("timeline").replaceChildren(el("p", "hint", `The history cannot be read: ${e.message}`));
  }
}

$("detail-close").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => { detailHost = null; });

// Start once socket.io.min.js (deferred) has run.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
else connect();
