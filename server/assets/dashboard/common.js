// What the dashboard's pages share: the viewer token (taken from ?token= once, then kept in
// this tab's sessionStorage, never left in the address bar), reading the API with it, the
// rejection screen, and small DOM and formatting helpers.

const TOKEN_KEY = "idlewatch-token";

function takeToken() {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given !== null) {
    sessionStorage.setItem(TOKEN_KEY, given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}
export const token = takeToken();

// Filter forms only filter: Enter never submits them (no inline handlers: the pages' Content
// Security Policy allows only these scripts).
for (const form of document.querySelectorAll("form.controls")) {
  form.addEventListener("submit", (e) => e.preventDefault());
}

export class Rejected extends Error {}

export async function api(path) {
  const response = await fetch(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403) {
    let message = "";
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Rejected(response.status === 403
      ? "This token may not read this page: use the viewer (or admin) token."
      : token ? `The server refused this token (${message || "unknown token"}).`
        : "This server needs a viewer token to show this page.");
  }
  if (!response.ok) {
    let message = "";
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Error(message || `${path}: HTTP ${response.status}`);
  }
  return response.json();
}

// A same-origin text resource (a floor plan) read with the token.
export async function apiText(path) {
  const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

export const $ = (id) => document.getElementById(id);

export const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
export const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s % 86400 / 3600)}h`;
}

// Every page has the top bar, `main` and the rejection section with its token form.
export function showRejected(reason) {
  $("main").hidden = true;
  document.querySelector(".top").hidden = true;
  $("rejected").hidden = false;
  $("rejected-reason").textContent = reason;
  document.title = "Idlewatch — token rejected";
  $("token-input").focus();
}

export function bindTokenForm() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    location.reload();
  });
}
