// Cari insiden: filters and full-text search over the incidents of the person's areas; the same
// filters give the CSV export (streamed by the server, however many rows).
"use strict";

function query(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!value) continue;
    // datetime-local has no zone: the browser's own offset is added, so the server gets an instant
    params.set(name, name === "from" || name === "until" ? new Date(value).toISOString() : value);
  }
  return params;
}

async function search() {
  const form = document.getElementById("saring");
  const params = query(form);
  document.getElementById("unduh").href = `/v1/incidents.csv?${params}`;
  history.replaceState(null, "", `?${params}`);
  const answer = await fetch(`/v1/incidents?${params}&limit=200`, { credentials: "same-origin" });
  const note = document.getElementById("keterangan");
  const body = document.querySelector("#hasil tbody");
  body.replaceChildren();
  if (answer.status === 422) {
    note.textContent = "Isian saringan tidak valid: periksa kode kecamatan/desa dan tanggal.";
    note.className = "galat";
    return;
  }
  if (!answer.ok) throw new Error(`${answer.status}`);
  const page = await answer.json();
  note.className = "";
  note.textContent = page.total > page.items.length
    ? `${page.total} insiden; 200 terbaru ditampilkan, semuanya ada di unduhan CSV.`
    : `${page.total} insiden.`;
  document.body.dataset.total = page.total;
  for (const item of page.items) body.append(incidentRow(item));
}

async function start() {
  const form = document.getElementById("saring");
  await fillChoices(form);
  for (const [name, value] of new URLSearchParams(window.location.search)) {
    if (form.elements[name] && name !== "from" && name !== "until") form.elements[name].value = value;
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); search().catch(failed); });
  await search();
}

start().catch(failed);
