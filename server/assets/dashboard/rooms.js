// The dashboard's rooms: each lab with a configured room ([[seats.maps]]) drawn as the seat page
// draws it, coloured by seat state, kept current by the `seats` event dashboards receive.

import { $, api, el, setText } from "./common.js";
import { LabView, placeKey } from "./seatmap.js";

const lower = (s) => String(s ?? "").toLowerCase();
const views = new Map(); // lower-cased group -> LabView
const headings = new Map(); // lower-cased group -> [name, h3]
const seats = new Map(); // lower-cased host -> seat
let early = []; // events before the first answer
let loaded = false;

function paint(seat) {
  for (const view of views.values()) if (view.shows(seat)) view.set(seat, "");
}

// Each room's heading: its lab's PCs free, in use and offline now.
function count() {
  const counts = new Map([...headings.keys()].map((k) => [k, { free: 0, in_use: 0, offline: 0 }]));
  for (const seat of seats.values()) {
    const c = counts.get(lower(seat.group));
    if (c && seat.state in c) c[seat.state] += 1;
  }
  for (const [key, [name, h3]] of headings) {
    const c = counts.get(key);
    setText(h3, `${name}: ${c.free} free, ${c.in_use} in use, ${c.offline} offline`);
  }
}

function apply(event) {
  if (!loaded) { early.push(event); return; }
  if (event.full) seats.clear();
  for (const seat of event.seats) { seats.set(placeKey(seat.host), seat); paint(seat); }
  for (const host of event.removed || []) {
    seats.delete(placeKey(host));
    for (const view of views.values()) view.forget(host);
  }
  count();
}

// Reads the rooms (again, after a reconnect) and shows the panel when there are any.
export async function loadRooms(socket, fetchText) {
  if (!socket.hasRoomsHandler) { socket.on("seats", apply); socket.hasRoomsHandler = true; }
  loaded = false;
  const answer = await api("/api/v1/seats");
  const mapped = answer.groups.filter((g) => g.map);
  $("rooms").hidden = mapped.length === 0;
  const list = $("rooms-labs");
  list.replaceChildren();
  views.clear();
  headings.clear();
  seats.clear();
  for (const lab of mapped) {
    const card = el("section", "lab");
    card.setAttribute("aria-label", lab.group);
    const h3 = el("h3");
    headings.set(lower(lab.group), [lab.group, h3]);
    card.append(h3);
    const view = new LabView(lab, fetchText);
    view.ready.catch((e) => card.append(el("p", "empty", `The room cannot be drawn: ${e.message}`)));
    card.append(view.node);
    list.append(card);
    views.set(lower(lab.group), view);
  }
  for (const lab of answer.groups) for (const seat of lab.seats) seats.set(placeKey(seat.host), seat);
  await Promise.allSettled([...views.values()].map((v) => v.ready));
  for (const seat of seats.values()) paint(seat);
  count();
  loaded = true;
  const queued = early;
  early = [];
  queued.forEach(apply);
}
