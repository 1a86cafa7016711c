// The incident pages: a kecamatan's (or regency's) incidents, and one incident with its reports,
// assignments and timeline. They read the projection's API with the page's session.
"use strict";

const EVENTS = {
  ReportSubmitted: "Laporan masuk", ReportTriaged: "Laporan diklasifikasi otomatis", IncidentOpened: "Insiden dibuka",
  IncidentReportAdded: "Laporan lain digabungkan", IncidentReclassified: "Kategori diubah",
  IncidentSeverityChanged: "Keparahan diubah", IncidentVerified: "Diverifikasi petugas", IncidentNoted: "Catatan",
  IncidentClosed: "Ditutup", IncidentReopened: "Dibuka kembali", IncidentMerged: "Digabung",
  IncidentSplit: "Dipisah", IncidentAssigned: "Ditugaskan", IncidentProgressRecorded: "Perkembangan instansi",
  IncidentAssignmentOverdue: "Batas waktu instansi lewat", IncidentEscalated: "Dieskalasi",
  IncidentUrgencyConfirmed: "Cek segera: mendesak", IncidentUrgencyDismissed: "Cek segera: tidak mendesak",
  AlertRequested: "Peringatan dikirim", AlertHeld: "Peringatan ditahan untuk ringkasan",
  AlertDelivered: "Peringatan diterima", AlertFailed: "Peringatan gagal terkirim",
  EscalationStarted: "Eskalasi dimulai", EscalationStepReached: "Eskalasi naik tingkat",
  EscalationReminded: "Pengingat", EscalationExhausted: "Tidak ada yang menanggapi",
  AlertAcknowledged: "Peringatan dikonfirmasi",
};

function detail(entry, actors) {
  const s = { ...entry.summary, by: actors[entry.summary?.by] || entry.summary?.by };
  const parts = [];
  for (const key of ["liaison_unit", "liaison_id", "recipients", "via", "by", "reason", "agency", "stage", "note",
                     "category", "severity"]) {
    if (s[key] === undefined || s[key] === null || s[key] === "") continue;
    const value = key === "category" ? CATEGORY_LABELS[s[key]] || s[key] : s[key];
    parts.push(Array.isArray(value) ? value.join(", ") : String(value));
  }
  return parts.join(" · ");
}

async function list() {
  await listed();
  follow(listed);
}

async function listed() {
  const code = decodeURIComponent(window.location.pathname.split("/").pop());
  const param = code.length > 5 ? "kecamatan" : "regency";
  const page = await read(`/v1/incidents?${param}=${encodeURIComponent(code)}&limit=200`);
  const first = page.items[0];
  const place = first ? (param === "kecamatan" ? `Kec. ${first.kecamatan_name}` : first.regency_name) : code;
  document.getElementById("judul").textContent = `Insiden di ${place}`;
  document.getElementById("keterangan").textContent =
    page.total ? `${page.total} insiden, terbaru di atas.` : "Belum ada insiden.";
  const body = document.querySelector("#daftar tbody");
  body.replaceChildren();
  for (const item of page.items) body.append(incidentRow(item));
}

function incidentId() {
  return window.location.pathname.split("/").pop();
}

function render(found) {
  document.title = `${found.category_label} — Desk Pemilu`;
  document.getElementById("judul").textContent = `${found.severity.toUpperCase()}: ${found.category_label}`;
  document.getElementById("ringkas").textContent =
    `${found.village_name ? found.village_name + ", " : ""}Kec. ${found.kecamatan_name}, ${found.regency_name}` +
    ` · ${STATUS[found.status] || found.status} · klasifikasi ${found.classification}` +
    ` · ${found.report_count || found.reports.length} laporan`;
  Object.assign(document.body.dataset, { classification: found.classification, status: found.status,
                                         severity: found.severity, category: found.category });
  document.getElementById("dasar").textContent = (found.evidence || []).length
    ? `Dasar klasifikasi otomatis: ${found.evidence.join("; ")}` : "";
  document.getElementById("cek-segera").hidden = found.urgent_check !== "open";
  const reports = document.getElementById("laporan");
  reports.replaceChildren();
  for (const report of found.reports) {
    const li = document.createElement("li");
    li.textContent = `${when(report.reported_at)} · ${report.agency}: ${report.text}` +
      (report.category ? ` (otomatis: ${CATEGORY_LABELS[report.category] || report.category}, ` +
                         `${report.severity})` : "");
    reports.append(li);
  }
  const assignments = document.querySelector("#penugasan tbody");
  assignments.replaceChildren();
  for (const a of found.assignments) {
    const row = document.createElement("tr");
    row.dataset.agency = a.agency;
    cell(row, a.agency.toUpperCase());
    cell(row, when(a.assigned_at));
    cell(row, when(a.acknowledge_by));
    cell(row, when(a.act_by));
    cell(row, SLA[a.sla] || a.sla);
    assignments.append(row);
  }
  const timeline = document.getElementById("riwayat");
  timeline.replaceChildren();
  for (const entry of found.timeline) {
    const li = document.createElement("li");
    li.dataset.event = entry.event_type;
    const said = detail(entry, found.actors || {});
    li.textContent = `${when(entry.occurred_at)} · ${EVENTS[entry.event_type] || entry.event_type}` +
      (said ? ` — ${said}` : "");
    timeline.append(li);
  }
}

function say(text, state) {
  const line = document.getElementById("kabar");
  line.textContent = text;
  line.dataset.state = state;
  line.className = state === "galat" ? "kabar galat" : "kabar";
}

function newKey() {
  return window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// One key per intended decision until it is settled: pressing again after a time-out or a network
// failure sends the same key, so triage records the decision once even if the first got through.
const unsettled = new Map();

const REFUSED = {
  403: "Anda tidak berwenang mengambil keputusan ini.",
  404: "Insiden tidak ditemukan di wilayah Anda.",
  409: "Keadaan insiden tidak memungkinkan tindakan ini.",
  422: "Isian tidak valid.",
  503: "Belum pasti tersimpan (layanan sibuk atau terputus). Tekan lagi: keputusan yang sama tidak akan tercatat dua kali.",
};

function refusal(status, detail) {
  const reason = typeof detail === "string" ? ` (${detail})` : "";
  return `Tidak tersimpan: ${REFUSED[status] || `galat ${status}.`}${reason}`;
}

async function act(button) {
  const panel = document.getElementById("tindakan");
  const body = JSON.parse(button.dataset.body || "{}");
  for (const field of (button.dataset.fields || "").split(" ").filter(Boolean)) {
    const name = field.replace("?", "");
    const value = panel.querySelector(`[name=${name}]`).value.trim();
    if (value) body[name] = value;
    else if (!field.endsWith("?")) { say(`Isi ${name === "note" ? "catatan" : name} terlebih dahulu.`, "galat"); return; }
  }
  const intent = `${button.dataset.action}:${JSON.stringify(body)}`;
  if (!unsettled.has(intent)) unsettled.set(intent, newKey());
  button.disabled = true;
  say("Menyimpan…", "menyimpan");
  try {
    const answer = await fetch(`/v1/incidents/${incidentId()}/actions/${button.dataset.action}`, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Idempotency-Key": unsettled.get(intent) } });
    const result = await answer.json().catch(() => ({}));
    if (answer.status === 401) { window.location.href = "/masuk"; return; }
    if (answer.status !== 503) unsettled.delete(intent);  // settled: recorded, or refused for good
    if (!answer.ok) { say(refusal(answer.status, result.detail), "galat"); return; }
    say(`Tersimpan: ${button.textContent}.`, "tersimpan");
    panel.querySelector("[name=note]").value = "";
    await refresh();
  } catch (error) {
    say(`Belum pasti tersimpan (jaringan: ${error.message}). Tekan lagi: keputusan yang sama tidak akan ` +
        "tercatat dua kali.", "galat");
  } finally {
    button.disabled = false;
  }
}

async function actions() {
  const me = await read("/v1/me");
  if (me.as_of || !me.capabilities.includes("decide")) return;  // an archive takes no action
  const panel = document.getElementById("tindakan");
  await fillChoices(panel);
  const current = document.body.dataset;
  panel.querySelector("[name=category]").value = current.category || "";
  panel.querySelector("[name=severity]").value = current.severity || "";
  panel.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button);
  });
  panel.hidden = false;
}

async function refresh() {
  render(await read(`/v1/incidents/${incidentId()}`));
}

async function incident() {
  await refresh();
  await actions();
  follow(refresh);
  document.body.dataset.ready = "true";
}

(document.body.dataset.page === "daftar" ? list : incident)().catch(failed);
