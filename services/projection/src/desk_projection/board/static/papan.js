// Papan situasi: one tile per kecamatan, kept current by the projection's live feed
// (Server-Sent Events; the browser reconnects by itself). Written for this desk; no library.
"use strict";

const SEVERITIES = ["kritis", "tinggi", "sedang", "rendah"];

function time(iso) {
  if (!iso) return "belum ada laporan";
  const at = new Date(iso);
  return at.toLocaleString("id-ID", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function text(element, value) { if (element.textContent !== String(value)) element.textContent = value; }

function tileFor(code) {
  let tile = document.querySelector(`.tile[data-code="${code}"]`);
  if (tile) return tile;
  tile = document.createElement("article");
  tile.className = "tile";
  tile.dataset.code = code;
  tile.innerHTML = '<h2><a></a></h2><div class="level"></div><div class="open"></div>' +
                   '<div class="counts"></div><div class="verif"></div><div class="cats"></div><div class="last"></div>' +
                   '<svg class="trend" viewBox="0 0 100 20" preserveAspectRatio="none" role="img">' +
                   '<title></title><polyline points=""></polyline></svg>';
  tile.querySelector("a").href = `/papan/${code}`;
  return tile;
}

const LEVELS = ["aman", "waspada", "siaga", "awas"];

// A desk that sees several regencies (a province's) gets a tile per regency: its worst level and
// the sum of its kecamatan.
function byRegency(kecamatan) {
  const regencies = new Map();
  for (const k of kecamatan) {
    const code = k.regency_code || k.code.slice(0, 5);
    const r = regencies.get(code) || { code, name: k.regency_name || code, incidents: 0, reports: 0, unverified: 0,
                                       by_category: {}, by_severity: {}, level: "aman", last_report_at: null };
    r.incidents += k.incidents;
    r.unverified += k.unverified || 0;
    r.trend = (k.trend || []).map((n, i) => n + ((r.trend || [])[i] || 0));
    r.reports += k.reports;
    for (const [key, n] of Object.entries(k.by_category)) r.by_category[key] = (r.by_category[key] || 0) + n;
    for (const [key, n] of Object.entries(k.by_severity)) r.by_severity[key] = (r.by_severity[key] || 0) + n;
    if (LEVELS.indexOf(k.level) > LEVELS.indexOf(r.level)) r.level = k.level;
    if (k.last_report_at && (!r.last_report_at || k.last_report_at > r.last_report_at)) {
      r.last_report_at = k.last_report_at;
    }
    regencies.set(code, r);
  }
  return [...regencies.values()].map((r) => ({ ...r, level_label: r.level[0].toUpperCase() + r.level.slice(1) }));
}

function render(situation) {
  const tiles = document.getElementById("tiles");
  const regencies = new Set(situation.kecamatan.map((k) => k.regency_code || k.code.slice(0, 5)));
  const places = regencies.size > 1 ? byRegency(situation.kecamatan) : situation.kecamatan;
  tiles.dataset.kind = regencies.size > 1 ? "kabupaten" : "kecamatan";
  for (const stale of [...tiles.children].filter((t) => !places.some((p) => p.code === t.dataset.code))) {
    stale.remove();
  }
  const sorted = [...places].sort((a, b) => a.code.localeCompare(b.code));
  sorted.forEach((k, index) => {
    const tile = tileFor(k.code);
    tile.dataset.level = k.level;
    tile.dataset.open = k.incidents;
    text(tile.querySelector("h2 a"), k.name || k.code);
    text(tile.querySelector(".level"), k.level_label);
    text(tile.querySelector(".open"), `${k.incidents} insiden`);
    text(tile.querySelector(".counts"),
         SEVERITIES.filter((s) => k.by_severity[s]).map((s) => `${s} ${k.by_severity[s]}`).join(" · ") || "—");
    text(tile.querySelector(".verif"), k.incidents
      ? `otomatis ${k.unverified || 0} · terverifikasi ${k.incidents - (k.unverified || 0)}` : "");
    const cats = Object.entries(k.by_category).sort((a, b) => b[1] - a[1]).slice(0, 2);
    text(tile.querySelector(".cats"), cats.map(([c, n]) => `${CATEGORY_LABELS[c] || c} ${n}`).join(", "));
    text(tile.querySelector(".last"), `Laporan terakhir: ${time(k.last_report_at)}`);
    trend(tile, k.trend || []);
    if (tiles.children[index] !== tile) tiles.insertBefore(tile, tiles.children[index] || null);
  });
  placeOnMap(tiles, sorted);
  text(document.getElementById("total"), situation.incidents);
  SEVERITIES.forEach((s) => text(document.getElementById(`n-${s}`), situation.by_severity[s] || 0));
  const archived = situation.as_of;  // an archive: the situation as it was then, never moving
  text(document.getElementById("updated"), archived ? time(archived.asked_for || archived.stored_at)
                                                    : new Date().toLocaleTimeString("id-ID"));
  if (archived) {
    const status = document.getElementById("status");
    status.dataset.state = "arsip";
    text(status, "Arsip hanya-baca: tidak diperbarui");
  }
  document.body.dataset.position = situation.position;
}

// The last 24 hours of reports as a line: its height relative to the busiest hour of that tile.
function trend(tile, counts) {
  const line = tile.querySelector("polyline");
  const most = Math.max(1, ...counts);
  const step = counts.length > 1 ? 100 / (counts.length - 1) : 100;
  const points = counts.map((n, i) => `${(i * step).toFixed(1)},${(19 - (n / most) * 18).toFixed(1)}`).join(" ");
  if (line.getAttribute("points") !== points) line.setAttribute("points", points);
  const total = counts.reduce((a, b) => a + b, 0);
  text(tile.querySelector("title"), `${total} laporan dalam 24 jam terakhir`);
  tile.dataset.trend = counts.join(",");
}

// Tiles sit where their kecamatan lies on the regency's map when every one of them has a place.
let mapPlaces = {};
function placeOnMap(tiles, places) {
  const mapped = tiles.dataset.kind === "kecamatan" && places.length > 0 && places.every((p) => mapPlaces[p.code]);
  tiles.dataset.map = mapped;
  if (!mapped) return;
  const columns = Math.max(...places.map((p) => mapPlaces[p.code][1]));
  tiles.style.setProperty("--columns", columns);
  for (const p of places) {
    const tile = tiles.querySelector(`.tile[data-code="${p.code}"]`);
    tile.style.setProperty("--row", mapPlaces[p.code][0]);
    tile.style.setProperty("--col", mapPlaces[p.code][1]);
  }
}

function connect() {
  const status = document.getElementById("status");
  const feed = new EventSource("/v1/live/situation");
  feed.addEventListener("situation", (event) => render(JSON.parse(event.data)));
  feed.onopen = () => { status.dataset.state = "terhubung"; text(status, "Terhubung: diperbarui otomatis"); };
  feed.onerror = () => { status.dataset.state = "terputus"; text(status, "Terputus, mencoba menyambung lagi…"); };
}

fetch("/v1/layout", { credentials: "same-origin" })
  .then((answer) => (answer.ok ? answer.json() : {}))
  .catch(() => ({}))
  .then((places) => { mapPlaces = places; connect(); });
