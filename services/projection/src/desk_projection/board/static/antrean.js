// Antrean instansi: what one agency must handle, oldest first, with where each stands against its
// deadlines; and every agency's response times. Follows the live feed.
"use strict";

async function queue() {
  const form = document.getElementById("pilih");
  const agency = form.agency.value;
  const page = await read(`/v1/agencies/${agency}/queue?open_only=${form.open_only.value}`);
  const late = page.items.filter((a) => a.sla === "terlambat").length;
  document.getElementById("keterangan").textContent = page.items.length
    ? `${page.items.length} penugasan, ${late} terlambat; yang terlama di atas.` : "Tidak ada penugasan.";
  const body = document.querySelector("#antrean tbody");
  body.replaceChildren();
  for (const a of page.items) {
    const row = document.createElement("tr");
    row.dataset.incident = a.incident_id;
    row.dataset.sla = a.sla;
    const link = Object.assign(document.createElement("a"), { href: `/insiden/${a.incident_id}`,
                                                              textContent: CATEGORY_LABELS[a.category] || a.category });
    cell(row, when(a.assigned_at));
    cell(row, link);
    cell(row, a.kecamatan_code);
    cell(row, a.severity);
    cell(row, when(a.acknowledge_by));
    cell(row, when(a.act_by));
    const sla = Object.assign(document.createElement("span"), { textContent: SLA[a.sla] || a.sla,
                                                                className: `sla-${a.sla}` });
    cell(row, sla);
    body.append(row);
  }
  const performance = document.querySelector("#kinerja tbody");
  performance.replaceChildren();
  for (const p of await read("/v1/agencies/performance")) {
    const row = document.createElement("tr");
    for (const value of [p.agency.toUpperCase(), p.assigned, p.acknowledged, p.finished, p.overdue,
                         p.median_minutes_to_acknowledge, p.median_minutes_to_finish]) cell(row, value);
    performance.append(row);
  }
  document.body.dataset.agency = agency;
}

async function start() {
  const form = document.getElementById("pilih");
  await fillChoices(form);
  const wanted = new URLSearchParams(window.location.search).get("instansi");
  if (wanted) form.agency.value = wanted;
  form.addEventListener("change", () => {
    history.replaceState(null, "", `?instansi=${form.agency.value}`);
    queue().catch(failed);
  });
  await queue();
  follow(queue);
}

start().catch(failed);
