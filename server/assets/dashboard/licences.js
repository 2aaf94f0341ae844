// Idlewatch licences page: the seats each watched app held and used over a range (peaks,
// hours, the hour-of-week grid, what releasing idle seats would have saved) and each licence
// server's view (its pool over the range, checkouts beside what their PCs show). Everything
// comes from the HTTP API with the viewer token; the page reloads it every minute.

import { $, Rejected, api, bindTokenForm, el, setText, showRejected, svg } from "./common.js";

bindTokenForm();

const DAY_MS = 86_400_000;
const REFRESH_MS = 60_000;
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const SEEN = {
  in_use: "in use there",
  idle: "open but idle there",
  not_running: "not running there",
  unknown: "app not reported there",
  no_agent: "no agent on that PC",
};
const view = { app: null };

const hours = (h) => (typeof h === "number" ? h.toFixed(1) : "");
const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "");
const peak = (p) => (p.seats > 0 && p.at ? `${p.seats} at ${when(p.at)}` : String(p.seats));
// A peak's cell: the seats, and when under it in small type.
function peakCell(p) {
  const td = el("td", "num peak", String(p.seats));
  if (p.seats > 0 && p.at) td.append(el("span", "when", when(p.at)));
  return td;
}

function range() {
  const to = Date.now();
  const from = to - Number($("range").value) * DAY_MS;
  const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  if ($("group").value !== "*") q.set("group", $("group").value);
  return q;
}

async function loadGroups() {
  const list = await api("/api/v1/hosts");
  const groups = [...new Set(list.hosts.map((h) => h.group).filter(Boolean))].sort();
  const select = $("group");
  const chosen = select.value;
  select.replaceChildren(new Option("All groups", "*"), ...groups.map((g) => new Option(g, g)));
  select.value = groups.includes(chosen) ? chosen : "*";
}

function seatRow(app) {
  const row = el("tr");
  const name = el("th");
  name.scope = "row";
  const pick = el("button", "link", app.app);
  pick.type = "button";
  pick.dataset.app = app.app;
  if (view.app && view.app.toLowerCase() === app.app.toLowerCase()) pick.setAttribute("aria-pressed", "true");
  pick.addEventListener("click", () => { view.app = app.app; refresh(); });
  name.append(pick);
  const inUse = app.interactive_hours + app.computing_hours;
  const share = inUse + app.idle_hours > 0 ? app.idle_hours / (inUse + app.idle_hours) : 0;
  const bar = el("td", "share");
  const meter = el("span", "bar");
  const fill = el("span");
  fill.style.width = `${Math.round(share * 100)}%`;
  meter.append(fill);
  bar.append(meter, el("span", "pct", `${Math.round(share * 100)}%`));
  row.append(
    name,
    el("td", "num", String(app.pcs)),
    el("td", "num", app.issued === null || app.issued === undefined ? "–" : String(app.issued)),
    peakCell(app.peak_running),
    peakCell(app.peak_in_use),
    el("td", "num", hours(inUse)),
    el("td", "num", hours(app.idle_hours)),
    bar,
  );
  return row;
}

async function loadSeats(q) {
  const answer = await api(`/api/v1/licences?${q}`);
  setText($("range-text"), `${when(answer.from)} – ${when(answer.to)} (${answer.time_zone})`);
  if (view.app && !answer.apps.some((a) => a.app.toLowerCase() === view.app.toLowerCase())) view.app = null;
  if (!view.app && answer.apps.length > 0) view.app = answer.apps[0].app;
  $("seats").querySelector("tbody").replaceChildren(...answer.apps.map(seatRow));
  $("seats-empty").hidden = answer.apps.length > 0;
}

function drawHeatmap(grid) {
  const max = Math.max(0, ...grid.days.flatMap((d) => d.hours.map((h) => h.mean_in_use || 0)));
  const table = $("heatmap");
  const head = el("tr");
  head.append(el("th"));
  for (let h = 0; h < 24; h += 1) head.append(el("th", "hour", String(h).padStart(2, "0")));
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  grid.days.forEach((day, i) => {
    const row = el("tr");
    const label = el("th", "", DAYS[i] || day.day);
    label.scope = "row";
    row.append(label);
    for (const cell of day.hours) {
      const mean = cell.mean_in_use;
      const td = el("td", "cell", mean === null || mean === undefined ? "" : mean.toFixed(1));
      const share = max > 0 && mean ? mean / max : 0;
      // Light to dark blue; dark cells take white text (both pairs keep AA contrast).
      td.style.background = `hsl(214 70% ${Math.round(96 - share * 66)}%)`;
      if (share > 0.55) td.classList.add("dark");
      td.title = `${DAYS[i]} ${String(cell.hour).padStart(2, "0")}:00–${String(cell.hour + 1).padStart(2, "0")}:00: `
        + (mean === null || mean === undefined ? "not in the range" : `${mean.toFixed(2)} seats in use on average, ${cell.peak_in_use} at most`);
      row.append(td);
    }
    body.append(row);
  });
  table.replaceChildren(thead, body);
  setText($("heatmap-note"), `Mean seats in use in each hour over the range's weeks (${grid.time_zone}); hover a cell for the most at once.`);
}

function drawReclaim(sim) {
  const saved = sim.held.seats - sim.needed.seats;
  setText($("reclaim-summary"), saved > 0
    ? `Peak held ${sim.held.seats}; had every seat idle longer than that been released, ${sim.needed.seats} would have been needed at most: ${saved} fewer.`
    : `Peak held ${sim.held.seats}; releasing idle seats would not have lowered the peak (${sim.needed.seats} needed).`);
  const top = Math.max(1, ...sim.weeks.map((w) => w.held.seats));
  const table = el("table", "weeks-table");
  const head = el("tr");
  for (const t of ["Week of", "Held", "Needed", ""]) head.append(el("th", t === "Held" || t === "Needed" ? "num" : "", t));
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  for (const w of sim.weeks) {
    const row = el("tr");
    const bars = el("td", "pair");
    for (const [cls, n] of [["held", w.held.seats], ["needed", w.needed.seats]]) {
      const b = el("span", `wbar ${cls}`);
      b.style.width = `${(n / top) * 100}%`;
      bars.append(b);
    }
    row.append(el("td", "", w.week), el("td", "num", String(w.held.seats)), el("td", "num", String(w.needed.seats)), bars);
    body.append(row);
  }
  table.append(thead, body);
  const wrap = el("div", "table-wrap");
  wrap.append(table);
  $("reclaim-weeks").replaceChildren(wrap);
}

async function loadDetail(q) {
  $("app-detail").hidden = !view.app;
  if (!view.app) return;
  const app = encodeURIComponent(view.app);
  const r = new URLSearchParams(q);
  r.set("reclaim_after", $("reclaim").value);
  const [grid, sim] = await Promise.all([
    api(`/api/v1/licences/${app}/heatmap?${q}`),
    api(`/api/v1/licences/${app}/simulate?${r}`),
  ]);
  setText($("app-title"), grid.app);
  drawHeatmap(grid);
  drawReclaim(sim);
}

function chart(history) {
  const w = 640, h = 140, pad = 28;
  const points = history.points.map((p) => ({ t: Date.parse(p.at), issued: p.issued, in_use: p.in_use }));
  const box = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "pool-chart", role: "img",
    "aria-label": `${history.server}: seats issued and in use at each poll; peak in use ${history.peak_in_use.seats}` });
  if (points.length === 0) return box;
  const t0 = Date.parse(history.from), t1 = Date.parse(history.to);
  const top = Math.max(1, ...points.map((p) => Math.max(p.issued, p.in_use)));
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const y = (n) => h - pad + 10 - (n / top) * (h - pad - 10);
  const line = (key, cls) => svg("polyline", {
    class: cls, fill: "none", points: points.map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" "),
  });
  const axis = svg("text", { x: 2, y: y(top) + 4, class: "axis" });
  axis.textContent = String(top);
  const zero = svg("text", { x: 2, y: y(0) + 4, class: "axis" });
  zero.textContent = "0";
  box.append(line("issued", "issued"), line("in_use", "in-use"), axis, zero);
  // Few polls yet: each one a dot, so a single poll shows too.
  if (points.length < 200) {
    for (const p of points) {
      box.append(svg("circle", { cx: x(p.t).toFixed(1), cy: y(p.issued).toFixed(1), r: 2.5, class: "issued" }));
      box.append(svg("circle", { cx: x(p.t).toFixed(1), cy: y(p.in_use).toFixed(1), r: 2.5, class: "in-use" }));
    }
  }
  return box;
}

function serverCard(server, history) {
  const card = el("article", "server-card");
  card.dataset.server = server.name;
  card.append(el("h3", "", `${server.name} (${server.app})`));
  const facts = el("p", "facts");
  facts.textContent = server.error
    ? `Last poll failed: ${server.error}`
    : `${server.issued} issued · ${server.in_use} in use · ${server.seen_in_use} seen in use on their PCs · ${server.orphaned} orphaned`
      + (server.polled_at ? ` — polled ${when(server.polled_at)}` : "");
  if (server.error) facts.classList.add("bad");
  card.append(facts);
  if (history) {
    card.append(chart(history));
    const legend = el("ul", "legend");
    legend.append(el("li", "issued", "issued"), el("li", "in-use", `in use, peak ${peak(history.peak_in_use)}`));
    card.append(legend);
  }
  const rows = server.pools.flatMap((pool) => pool.checkouts.map((c) => ({ pool, c })));
  if (rows.length > 0) {
    const table = el("table", "checkouts");
    const head = el("tr");
    for (const t of ["Feature", "User", "PC", "Since", "On the PC"]) head.append(el("th", "", t));
    const thead = el("thead");
    thead.append(head);
    const body = el("tbody");
    for (const { pool, c } of rows) {
      const row = el("tr", c.orphaned ? "orphaned" : "");
      row.append(el("td", "", pool.feature), el("td", "", c.user), el("td", "", c.host), el("td", "", when(c.since)),
        el("td", "", (c.orphaned ? "Orphaned: " : "") + (SEEN[c.seen] || c.seen)));
      body.append(row);
    }
    table.append(thead, body);
    const wrap = el("div", "table-wrap");
    wrap.append(table);
    card.append(wrap);
  }
  return card;
}

async function loadServers(q) {
  const answer = await api("/api/v1/licences/servers");
  $("servers-empty").hidden = answer.servers.length > 0;
  const r = new URLSearchParams(q);
  r.delete("group");
  const histories = await Promise.all(answer.servers.map((s) =>
    api(`/api/v1/licences/servers/${encodeURIComponent(s.name)}/history?${r}`).catch(() => null)));
  $("servers").replaceChildren(...answer.servers.map((s, i) => serverCard(s, histories[i])));
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  const status = $("connection");
  try {
    await loadGroups();
    const q = range();
    await loadSeats(q);
    await Promise.all([loadDetail(q), loadServers(q)]);
    setText(status, `Updated ${new Date().toLocaleTimeString()}`);
    status.className = "connection live";
  } catch (e) {
    if (e instanceof Rejected) { showRejected(e.message); return; }
    setText(status, `Cannot read the licences: ${e.message}`);
    status.className = "connection down";
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

for (const id of ["range", "group", "reclaim"]) $(id).addEventListener("change", refresh);
refresh();
