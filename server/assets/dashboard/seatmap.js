// A lab's seats as the seat page and the dashboard draw them: its room (rows of desks, or an
// SVG floor plan whose elements are named after the PCs) or, without a room, a list of PCs.
// Each place is created once and only its state changes afterwards.

import { el } from "./common.js";

export const STATE_TEXT = { free: "Free", in_use: "In use", offline: "Offline" };

const lower = (s) => String(s).toLowerCase();

// A PC's place in a room: its name without case and without a domain (PC01.college.example
// sits at desk PC01), as the server matches names; an IP address is kept whole.
export function placeKey(host) {
  const name = String(host).trim().toLowerCase();
  return /^[\d.]+$/.test(name) || name.includes(":") ? name : name.split(".")[0];
}

// The text a place says about `seat` (its colour always comes with it).
function describe(host, seat, app) {
  if (!seat) return `${host}: not reporting yet`;
  const state = STATE_TEXT[seat.state] || seat.state;
  if (app && !hasApp(seat, app)) return `${host}: ${state.toLowerCase()}, no ${app}`;
  return `${host}: ${state.toLowerCase()}${seat.installed.length ? ` (${seat.installed.join(", ")})` : ""}`;
}

export const hasApp = (seat, app) => seat.installed.some((a) => lower(a) === lower(app));

// The class of a place: its state, or `noapp` when an app is chosen and the PC lacks it.
function stateClass(seat, app) {
  if (!seat) return "seat-unknown";
  if (app && !hasApp(seat, app)) return "seat-noapp";
  return `seat-${seat.state}`;
}

export class LabView {
  // `lab` as `GET /api/v1/seats` gives it; `fetchText(url)` reads a floor plan.
  constructor(lab, fetchText) {
    this.lab = lab;
    this.places = new Map(); // placeKey(host) -> { node, host }
    this.node = el("div", "lab-room");
    const map = lab.map;
    // A room places PCs by name whatever their group; a list shows its group's PCs.
    this.room = Boolean(map);
    if (map && map.kind === "rows") this.drawRows(map.rows);
    else if (map && map.kind === "svg") this.ready = this.drawPlan(map.url, fetchText);
    else this.node.classList.add("lab-list");
    this.ready = this.ready || Promise.resolve();
  }

  drawRows(rows) {
    this.node.classList.add("lab-rows");
    for (const row of rows) {
      const line = el("div", "room-row");
      for (const host of row) {
        if (host === null) { line.append(el("span", "aisle")); continue; }
        const place = el("span", "place seat-unknown", host);
        place.setAttribute("role", "img");
        this.places.set(placeKey(host), { node: place, host });
        line.append(place);
      }
      this.node.append(line);
    }
  }

  async drawPlan(url, fetchText) {
    this.node.classList.add("lab-plan");
    const text = await fetchText(url);
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (root.nodeName.toLowerCase() !== "svg") throw new Error(`the floor plan of ${this.lab.group} is not SVG`);
    const plan = document.importNode(root, true);
    plan.removeAttribute("width");
    plan.removeAttribute("height");
    plan.classList.add("plan");
    // Any element may carry an id; it becomes a place once a PC of that name is known, so
    // walls and doors named in the drawing keep their colours.
    this.ids = new Map();
    for (const node of plan.querySelectorAll("[id]")) {
      if (!this.ids.has(placeKey(node.id))) this.ids.set(placeKey(node.id), node);
    }
    this.node.append(plan);
  }

  // Shows `seat` (a PC of this lab, or placed in its room) with `app` chosen (or "").
  // Whether this lab shows `seat`: a room the PCs it places, a list its group's PCs.
  shows(seat) {
    const key = placeKey(seat.host);
    if (this.room) return this.places.has(key) || Boolean(this.ids && this.ids.has(key));
    return lower(seat.group ?? "") === lower(this.lab.group ?? "");
  }

  // `host` is no longer shown: off a list; a room's place stays, drawn as no PC known.
  forget(host) {
    const key = placeKey(host);
    const place = this.places.get(key);
    if (!place) return;
    if (!this.room) { this.remove(host); return; }
    this.paint(place, null, "");
  }

  // Takes `host` off a list (it moved to another lab or out of sight).
  remove(host) {
    const key = placeKey(host);
    const place = this.places.get(key);
    if (!place || this.room) return;
    place.node.remove();
    this.places.delete(key);
  }

  set(seat, app) {
    const key = placeKey(seat.host);
    let place = this.places.get(key);
    if (!place && this.ids && this.ids.has(key)) {
      const node = this.ids.get(key);
      node.classList.add("place");
      node.setAttribute("role", "img");
      place = { node, host: node.id };
      this.places.set(key, place);
    }
    if (!place) {
      if (!this.node.classList.contains("lab-list")) {
        return; // a PC of the lab that its room does not place
      }
      const node = el("span", "place seat-unknown", seat.host);
      node.setAttribute("role", "img");
      place = { node, host: seat.host };
      this.places.set(key, place);
      this.insertSorted(place);
    }
    this.paint(place, seat, app);
  }

  insertSorted(place) {
    const after = [...this.node.children].find((n) => n.textContent.localeCompare(place.host, undefined, { numeric: true, sensitivity: "base" }) > 0);
    this.node.insertBefore(place.node, after || null);
  }

  paint(place, seat, app) {
    const cls = stateClass(seat, app);
    if (place.cls !== cls) {
      place.node.classList.remove(place.cls || "seat-unknown");
      place.node.classList.add(cls);
      place.cls = cls;
    }
    const label = describe(place.host, seat, app);
    if (place.label !== label) {
      place.node.setAttribute("aria-label", label);
      if (place.node.namespaceURI === "http://www.w3.org/2000/svg") {
        let title = place.node.querySelector(":scope > title");
        if (!title) {
          title = document.createElementNS("http://www.w3.org/2000/svg", "title");
          place.node.prepend(title);
        }
        title.textContent = label;
      } else {
        place.node.title = label;
      }
      place.label = label;
    }
  }

  // Repaints every place from `seats` (placeKey(host) -> seat).
  repaint(seats, app) {
    for (const [key, place] of this.places) this.paint(place, seats.get(key), app);
  }
}
