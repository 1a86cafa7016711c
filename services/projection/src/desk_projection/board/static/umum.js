// What every page of the board shares: reading the API with the page's session, dates in Bahasa
// Indonesia, table cells, an incident's row, and following the live feed.
"use strict";

const STATUS = { triaged: "terbuka", escalated: "dieskalasi", closed: "ditutup", merged: "digabung" };
const SLA = { tepat_waktu: "tepat waktu", terlambat: "terlambat", selesai: "selesai" };
function when(iso) {
  return iso ? new Date(iso).toLocaleString("id-ID", { day: "numeric", month: "short", hour: "2-digit",
                                                         minute: "2-digit" }) : "—";
}

function cell(row, value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.append(value); else td.textContent = value ?? "—";
  row.append(td);
}

async function read(url) {
  const answer = await fetch(url, { credentials: "same-origin" });
  if (answer.status === 401) { window.location.href = "/masuk"; throw new Error("belum masuk"); }
  if (!answer.ok) throw new Error(`${answer.status}`);
  return answer.json();
}

function incidentRow(item) {
  const row = document.createElement("tr");
  row.dataset.incident = item.incident_id;
  const link = document.createElement("a");
  link.href = `/insiden/${item.incident_id}`;
  link.textContent = item.category_label;
  cell(row, when(item.opened_at));
  cell(row, item.village_name || item.kecamatan_name);
  cell(row, link);
  cell(row, item.severity);
  cell(row, STATUS[item.status] || item.status);
  cell(row, item.classification);
  return row;
}

function follow(again, delay = 500) {
  // Every change of the log reaches the page through the board's live feed: the page reads its data
  // again (at most once per `delay` ms), so new incidents and a second officer's decision show without a reload.
  let pending = null;
  const source = new EventSource("/v1/live/situation");
  source.addEventListener("situation", () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; again().catch(() => {}); }, delay);
  });
}

// Fills every <select data-vocabulary="..."> under `root` with the desk's words for its codes.
async function fillChoices(root) {
  const words = await read("/v1/vocabulary");
  for (const select of root.querySelectorAll("select[data-vocabulary]")) {
    for (const [code, label] of Object.entries(words[select.dataset.vocabulary])) {
      select.append(new Option(label, code));
    }
  }
}

function failed(error) {
  document.querySelector("main").prepend(Object.assign(document.createElement("p"),
    { className: "galat", textContent: `Gagal memuat (${error.message}). Muat ulang halaman.` }));
}
