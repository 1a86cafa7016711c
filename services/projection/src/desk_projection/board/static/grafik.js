// Grafik: reports over time by category (stacked bars), and the minutes from an incident's opening
// to its escalation, first acknowledgement and closing. Drawn as SVG here; no chart library.
"use strict";

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#637939"];
const STAGES = { escalate: "Dieskalasi", acknowledge: "Ditanggapi (penghubung atau instansi)", close: "Ditutup" };
const SVG = "http://www.w3.org/2000/svg";

function shape(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function label(iso, bucket) {
  const at = new Date(iso);
  return bucket === "hour"
    ? at.toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleDateString("id-ID", { day: "numeric", month: "short" });
}

function bars(stats) {
  const svg = document.getElementById("laporan");
  svg.replaceChildren();
  const categories = Object.keys(stats.reports).sort();
  const totals = stats.starts.map((_, i) => categories.reduce((sum, c) => sum + stats.reports[c][i], 0));
  const most = Math.max(1, ...totals);
  const [left, top, width, height] = [40, 10, 750, 210];
  const step = width / Math.max(1, stats.starts.length);
  svg.append(shape("text", { x: 2, y: top + 10, "font-size": 11 }, most));
  svg.append(shape("text", { x: 2, y: top + height, "font-size": 11 }, 0));
  svg.append(shape("line", { x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: "#888" }));
  stats.starts.forEach((start, i) => {
    let y = top + height;
    categories.forEach((c, k) => {
      const n = stats.reports[c][i];
      if (!n) return;
      const h = (n / most) * height;
      y -= h;
      const bar = shape("rect", { x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h,
                                  fill: COLOURS[k % COLOURS.length] });
      bar.append(shape("title", {}, `${label(start, stats.bucket)} · ${stats.category_labels[c]}: ${n}`));
      svg.append(bar);
    });
    const every = Math.ceil(stats.starts.length / 12);
    if (i % every === 0) {
      svg.append(shape("text", { x: left + i * step, y: top + height + 16, "font-size": 11 },
                       label(start, stats.bucket)));
    }
  });
  const legend = document.getElementById("legenda");
  legend.replaceChildren(...categories.map((c, k) => {
    const item = document.createElement("span");
    item.dataset.category = c;
    const swatch = document.createElement("i");
    swatch.style.background = COLOURS[k % COLOURS.length];
    item.append(swatch, `${stats.category_labels[c]} (${stats.reports[c].reduce((a, b) => a + b, 0)})`);
    return item;
  }));
  if (!categories.length) legend.textContent = "Belum ada laporan dalam rentang ini.";
  svg.dataset.total = totals.reduce((a, b) => a + b, 0);
}

function times(stats) {
  const body = document.querySelector("#waktu tbody");
  body.replaceChildren();
  const svg = document.getElementById("tanggap");
  svg.replaceChildren();
  const longest = Math.max(1, ...Object.values(stats.response_times).map((t) => t.p90_minutes || 0));
  Object.entries(STAGES).forEach(([key, name], i) => {
    const t = stats.response_times[key];
    const row = document.createElement("tr");
    row.dataset.stage = key;
    for (const value of [name, t.n, t.median_minutes, t.p90_minutes]) cell(row, value);
    body.append(row);
    const y = 15 + i * 45;
    svg.append(shape("text", { x: 0, y: y + 14, "font-size": 12 }, name));
    if (t.median_minutes !== null) {
      const w = (t.median_minutes / longest) * 480;
      svg.append(shape("rect", { x: 300, y, width: Math.max(1, w), height: 20, fill: COLOURS[i] }));
      svg.append(shape("text", { x: 305 + w, y: y + 14, "font-size": 12 }, `${t.median_minutes} menit`));
    }
  });
}

async function draw() {
  const [days, bucket] = document.getElementById("rentang").range.value.split(":");
  const stats = await read(`/v1/stats?days=${days}&bucket=${bucket}`);
  bars(stats);
  times(stats);
  document.body.dataset.ready = "true";
}

document.getElementById("rentang").addEventListener("change", () => draw().catch(failed));
draw().then(() => follow(draw, 10_000)).catch(failed);  // charts move slowly: a heavier read
