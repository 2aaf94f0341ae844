// The free-seat page: which lab PCs are free now, per lab, drawn as its room when one is
// configured, with a software filter. Reads `GET /api/v1/seats` once, then follows the
// Socket.IO `seats` event (only seat states: no telemetry). Public when the server says so,
// else it needs the viewer token. `?group=` (repeatable) shows only those labs; `?kiosk=1`
// shows one lab at a time in large type and moves on every `?every=` seconds (default 12).

import { $, Rejected, api, apiText, bindTokenForm, el, setText, showRejected, token } from "./common.js";
import { LabView, hasApp, placeKey } from "./seatmap.js";

bindTokenForm();

const params = new URL(location.href).searchParams;
const onlyGroups = params.getAll("group").filter((g) => g.trim() !== "");
const kiosk = params.get("kiosk") === "1";
const every = Math.max(3, Number(params.get("every")) || 12);
const lower = (s) => String(s ?? "").toLowerCase();
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

const seats = new Map(); // placeKey(host) -> seat
const labs = new Map(); // lower-cased group ("" for none) -> { lab, view, card, count, bar }
let app = params.get("app") || "";
let pending = []; // events that arrived before the first answer
let loaded = false;
let dirty = new Set(); // lower-cased hosts to repaint
let frame = 0;
let refreshing = null;

function query() {
  const q = new URLSearchParams();
  for (const g of onlyGroups) q.append("group", g);
  const s = q.toString();
  return s ? `?${s}` : "";
}

function labCard(lab) {
  const name = lab.group ?? "Other PCs";
  const card = el("section", "lab");
  card.setAttribute("aria-label", name);
  const head = el("div", "lab-head");
  head.append(el("h2", "", name));
  const count = el("p", "lab-count");
  head.append(count);
  const bar = el("div", "lab-bar");
  bar.setAttribute("aria-hidden", "true");
  const freeBar = el("span", "free"), useBar = el("span", "in_use");
  bar.append(freeBar, useBar);
  const view = new LabView(lab, apiText);
  card.append(head, bar, view.node);
  view.ready.catch((e) => card.append(el("p", "empty", `The room cannot be drawn: ${e.message}`)));
  return { lab, view, card, count, freeBar, useBar };
}

function build(answer) {
  $("labs").replaceChildren();
  labs.clear();
  for (const lab of answer.groups) {
    const entry = labCard(lab);
    labs.set(lower(lab.group), entry);
    $("labs").append(entry.card);
  }
  const select = $("app");
  const chosen = app;
  select.replaceChildren(el("option", "", "Any"));
  select.firstChild.value = "";
  addApps(answer.apps);
  select.value = answer.apps.find((a) => lower(a) === lower(chosen)) ?? "";
  app = select.value;
  seats.clear();
  for (const lab of answer.groups) for (const seat of lab.seats) seats.set(placeKey(seat.host), seat);
  $("empty").hidden = answer.groups.length > 0;
  Promise.allSettled([...labs.values()].map((l) => l.view.ready)).then(repaintAll);
  repaintAll();
  if (kiosk) startKiosk();
}

// Offers `names` in the software menu, in order, each once (apps first seen later come with
// the seats that have them).
function addApps(names) {
  const select = $("app");
  const have = new Set([...select.options].map((o) => lower(o.value)));
  for (const name of names) {
    if (have.has(lower(name))) continue;
    have.add(lower(name));
    const option = el("option", "", name);
    option.value = name;
    const after = [...select.options].slice(1).find((o) => collator.compare(o.value, name) > 0);
    select.insertBefore(option, after || null);
  }
}

// The labs whose view shows `seat`: its group's list, and any room that places it.
function viewsOf(seat) {
  return [...labs.values()].map((entry) => entry.view).filter((view) => view.shows(seat));
}

const wanted = (group) => onlyGroups.length === 0 || onlyGroups.some((g) => lower(g) === lower(group));

function repaintAll() {
  for (const seat of seats.values()) for (const view of viewsOf(seat)) view.set(seat, app);
  for (const entry of labs.values()) entry.view.repaint(seats, app);
  counts();
}

function counts() {
  const per = new Map([...labs.keys()].map((k) => [k, { free: 0, in_use: 0, offline: 0, total: 0 }]));
  const all = { free: 0, in_use: 0, offline: 0 };
  for (const seat of seats.values()) {
    const c = per.get(lower(seat.group));
    if (!c) continue;
    const state = seat.state === "free" && app && !hasApp(seat, app) ? "noapp" : seat.state;
    c.total += 1;
    if (state in c) c[state] += 1;
    if (state in all) all[state] += 1;
  }
  for (const [key, entry] of labs) {
    const c = per.get(key);
    const what = app ? ` with ${app}` : "";
    entry.count.replaceChildren(el("strong", "", String(c.free)), document.createTextNode(` free${what} of ${c.total}`));
    entry.freeBar.style.width = c.total ? `${(100 * c.free) / c.total}%` : "0";
    entry.useBar.style.width = c.total ? `${(100 * c.in_use) / c.total}%` : "0";
  }
  setText($("total-free"), String(all.free));
  setText($("total-in-use"), String(all.in_use));
  setText($("total-offline"), String(all.offline));
  $("legend-noapp").hidden = !app;
  setText($("shown"), app ? `Free PCs with ${app}` : "");
}

function apply(event) {
  if (!loaded) { pending.push(event); return; }
  if (event.full) seats.clear();
  let unknownLab = false;
  for (const seat of event.seats) {
    const key = placeKey(seat.host);
    const before = seats.get(key);
    // A PC that moved lab leaves its old lab's list (and this page, if it shows only others).
    if (before && lower(before.group) !== lower(seat.group)) {
      for (const entry of labs.values()) if (!entry.view.shows(seat)) entry.view.remove(seat.host);
    }
    if (!wanted(seat.group)) { seats.delete(key); continue; }
    seats.set(key, seat);
    dirty.add(key);
    addApps(seat.installed);
    if (!labs.has(lower(seat.group))) unknownLab = true;
  }
  // PCs no longer shown (deleted, no longer listed, moved out of the labs shown).
  for (const host of event.removed || []) {
    const key = placeKey(host);
    seats.delete(key);
    dirty.delete(key);
    for (const entry of labs.values()) entry.view.forget(host);
  }
  if (unknownLab) refresh();
  if (!frame) frame = requestAnimationFrame(paintDirty);
}

function paintDirty() {
  frame = 0;
  for (const key of dirty) {
    const seat = seats.get(key);
    if (seat) for (const view of viewsOf(seat)) view.set(seat, app);
  }
  dirty = new Set();
  counts();
}

// A lab appeared (a PC reported a new group): read the whole view again. Events that arrive
// meanwhile wait, and are applied over the answer, which may be older than they are.
function refresh() {
  if (refreshing) return;
  loaded = false;
  refreshing = api(`/api/v1/seats${query()}`).then(build).catch(() => {}).finally(() => {
    refreshing = null;
    flush();
  });
}

function flush() {
  loaded = true;
  const early = pending;
  pending = [];
  for (const event of early) apply(event);
}

function status(text, live) {
  const node = $("connection");
  setText(node, text);
  node.classList.toggle("live", live);
  node.classList.toggle("down", !live);
}

let kioskTimer = 0;
let kioskAt = 0;
function startKiosk() {
  document.body.classList.add("kiosk");
  const cards = [...labs.values()].map((l) => l.card);
  let dots = document.querySelector(".kiosk-dots");
  if (!dots) { dots = el("div", "kiosk-dots"); dots.setAttribute("aria-hidden", "true"); $("main").append(dots); }
  dots.replaceChildren(...cards.map(() => el("span")));
  const show = () => {
    if (cards.length === 0) return;
    kioskAt %= cards.length;
    cards.forEach((c, i) => c.classList.toggle("current", i === kioskAt));
    [...dots.children].forEach((d, i) => d.classList.toggle("on", i === kioskAt));
  };
  clearInterval(kioskTimer);
  show();
  if (cards.length > 1) kioskTimer = setInterval(() => { kioskAt += 1; show(); }, every * 1000);
}

function tickClock() {
  setText($("clock"), new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
}

async function start() {
  $("app").addEventListener("change", () => { app = $("app").value; repaintAll(); });
  tickClock();
  setInterval(tickClock, 10_000);
  const auth = { view: "seats" };
  if (token) auth.token = token;
  if (onlyGroups.length) auth.groups = onlyGroups;
  const socket = window.io({ auth });
  socket.on("connect", () => status("Live", true));
  socket.on("disconnect", () => status("Reconnecting…", false));
  socket.on("connect_error", (err) => status(`Cannot connect: ${err.message}`, false));
  socket.on("seats", apply);
  try {
    build(await api(`/api/v1/seats${query()}`));
  } catch (e) {
    if (e instanceof Rejected) { socket.close(); showRejected(e.message); return; }
    status(`Cannot load the seats: ${e.message}`, false);
    return;
  }
  flush();
}

start();
