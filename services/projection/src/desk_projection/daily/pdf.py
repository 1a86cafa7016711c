"""The daily situation report as a printable A4 PDF (fpdf2), in Bahasa Indonesia.

Core fonts (Helvetica) keep the file small and free of font files, but they only hold latin-1:
every text passes `latin1()` first, so a report typed with emoji or curly quotes still prints.
Same facts and same `generated_at`, same bytes: the document carries no other clock."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from fpdf import FPDF, FontFace, XPos, YPos

from desk_projection.daily.facts import Action, CriticalIncident, DayFacts, KecamatanState
from desk_projection.responses import (
    CLASSIFICATION_AUTOMATED,
    CLASSIFICATION_VERIFIED,
    LEVEL_LABELS,
    STATUS_LABELS,
    category_label,
)
from desk_shared.contracts.incidents import ClosingReason
from desk_shared.contracts.taxonomy import Severity

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
EVENT_WORDS = {
    "IncidentReportAdded": "Laporan lain digabungkan", "IncidentReclassified": "Kategori diubah",
    "IncidentSeverityChanged": "Keparahan diubah", "IncidentVerified": "Diverifikasi petugas",
    "IncidentNoted": "Catatan", "IncidentAssigned": "Ditugaskan", "IncidentProgressRecorded": "Perkembangan instansi",
    "IncidentAssignmentOverdue": "Batas waktu instansi lewat", "IncidentEscalated": "Dieskalasi ke aparat",
    "IncidentUrgencyConfirmed": "Cek segera: mendesak", "IncidentUrgencyDismissed": "Cek segera: tidak mendesak",
    "EscalationStarted": "Eskalasi dimulai", "EscalationStepReached": "Eskalasi naik tingkat",
    "EscalationReminded": "Pengingat dikirim", "EscalationExhausted": "Tidak ada yang menanggapi",
    "AlertAcknowledged": "Peringatan dikonfirmasi", "IncidentMerged": "Insiden lain digabungkan",
    "IncidentSplit": "Dipisah", "IncidentClosed": "Ditutup", "IncidentReopened": "Dibuka kembali"}
"""The timeline in words (the board's incident page has the same words in insiden.js)."""
STAGE_WORDS = {"acknowledged": "menanggapi", "acted": "bertindak di lapangan", "finished": "selesai"}
MISSED_WORDS = {"acknowledged": "tanggapan", "acted": "tindakan"}
LEVEL_FILL = {"aman": (214, 234, 214), "waspada": (255, 243, 184), "siaga": (255, 211, 163), "awas": (246, 177, 177)}
SEVERITIES = tuple(reversed(Severity))
"""Most urgent first, as the tables list them."""
MAX_ROWS = 100
"""Rows of a list of open items at most: the board and the API have the rest."""

_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"',
                              "\u201d": '"', "\u201e": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-",
                              "\u2026": "...", "\u2022": "\u00b7", "\u2192": "->", "\u00ad": "", "\t": " "})


def latin1(text: str) -> str:
    """`text` in latin-1: typographic punctuation by its plain twin, accented letters without their
    accents when latin-1 lacks them, anything else (emoji, other scripts) by '?'."""
    text = text.translate(_PUNCTUATION)
    kept = []
    for char in text:
        if char == "\n" or (ord(char) < 256 and unicodedata.category(char) != "Cc"):
            kept.append(char)
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Mn"):
            continue  # control characters, zero-width joiners, stray combining marks
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        kept.append(plain if plain and all(ord(c) < 256 for c in plain) else "?")
    return "".join(kept)


def long_date(day: date) -> str:
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H.%M")


def moment(at: datetime, tz: ZoneInfo, day: date) -> str:
    """The local time, with its date when not on the report's day."""
    local = at.astimezone(tz)
    if local.date() == day:
        return clock(at, tz)
    return f"{local.day} {MONTHS[local.month - 1][:3]} {local.year} {clock(at, tz)}"


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    seconds = round(minutes * 60)
    if seconds < 60:
        return f"{seconds} detik"
    if seconds < 600:
        whole, rest = divmod(seconds, 60)
        return f"{whole} menit {rest} detik" if rest else f"{whole} menit"
    hours, whole = divmod(round(seconds / 60), 60)
    if not hours:
        return f"{whole} menit"
    return f"{hours} jam {whole} menit" if whole else f"{hours} jam"


def severity_word(code: str) -> str:
    return code.capitalize()


def action_text(action: Action) -> str:
    """What one timeline entry tells, e.g. 'Perkembangan instansi: POLSEK menanggapi - anggota meluncur'."""
    d: Mapping[str, Any] = action.details
    parts: list[str] = []
    agency = str(d["agency"]).upper() if d.get("agency") else None
    match action.event_type:
        case "IncidentReclassified" if d.get("previous"):
            parts.append(f"dari {category_label(d['previous'])} menjadi {category_label(d.get('category', ''))}")
        case "IncidentSeverityChanged" if d.get("previous"):
            parts.append(f"dari {d['previous']} menjadi {d.get('severity', '')}")
        case "IncidentVerified" | "IncidentReportAdded" if d.get("category"):
            parts.append(f"{category_label(d['category'])}, {d.get('severity', '')}")
        case "IncidentAssigned" if agency:
            parts.append(agency)
        case "IncidentProgressRecorded" if agency:
            parts.append(f"{agency} {STAGE_WORDS.get(d.get('stage', ''), d.get('stage', ''))}")
        case "IncidentAssignmentOverdue" if agency:
            parts.append(f"{agency}, batas {MISSED_WORDS.get(d.get('stage', ''), d.get('stage', ''))}")
        case "IncidentEscalated":
            parts.append(f"ke {len(d.get('liaisons', ()))} penghubung aparat")
        case "IncidentClosed" if d.get("reason"):
            parts.append(_closing(str(d["reason"])))
        case "IncidentMerged" if d.get("reports"):
            parts.append(f"{d['reports']} laporan")
        case "IncidentSplit" if d.get("reports"):
            parts.append(f"{d['reports']} laporan menjadi insiden baru")
        case "AlertAcknowledged" if d.get("liaison_id"):
            parts.append(f"oleh {d['liaison_id']}")
        case "EscalationStarted" | "EscalationStepReached" | "EscalationReminded" | "EscalationExhausted":
            if d.get("recipients"):
                parts.append(", ".join(d["recipients"]))
    if d.get("note"):
        parts.append(str(d["note"]))
    words = EVENT_WORDS.get(action.event_type, action.event_type)
    return f"{words}: {' - '.join(parts)}" if parts else words


def _closing(code: str) -> str:
    try:
        return ClosingReason(code).label
    except ValueError:
        return code


class _Document(FPDF):
    """A4 portrait with the report's footer on every page."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._footer = footer
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(latin1(text))

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(self.epw * 0.7, 5, self._footer)
        self.cell(self.epw * 0.3, 5, f"Halaman {self.page_no()} dari {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def render(facts: DayFacts, regency_name: str, generated_at: datetime) -> bytes:
    """The report of `facts` for the leaders of `regency_name`, dated `generated_at`."""
    day_words = long_date(facts.day)
    pdf = _Document(f"Desk Pemilu {regency_name} - Laporan Situasi Harian {day_words}")
    pdf.set_creation_date(generated_at)
    pdf.set_title(f"Laporan Situasi Harian {day_words}")
    pdf.set_author(f"Desk Pemilu {regency_name}")
    pdf.set_creator("Desk Pemilu")
    pdf.set_lang("id")
    pdf.add_page()
    _title(pdf, facts, regency_name, generated_at)
    _situation(pdf, facts)
    _numbers(pdf, facts)
    _critical(pdf, facts)
    _open_items(pdf, facts)
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, size: float = 10, style: str = "", height: float = 5) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(4)
    if pdf.will_page_break(30):  # a heading never ends a page alone
        pdf.add_page()
    _line(pdf, text, 13, "B", 7)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(2)


def _note(pdf: FPDF, text: str) -> None:
    pdf.set_text_color(90, 90, 90)
    _line(pdf, text, 8.5, "I", 4.2)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def _title(pdf: FPDF, facts: DayFacts, regency_name: str, generated_at: datetime) -> None:
    made = generated_at.astimezone(facts.tz)
    _line(pdf, "Laporan Situasi Harian", 18, "B", 9)
    _line(pdf, f"Desk Pemilu {regency_name}", 12, "B", 6)
    _line(pdf, long_date(facts.day), 12, "", 6)
    _note(pdf, f"Dibuat {made.day} {MONTHS[made.month - 1]} {made.year} pukul {clock(made, facts.tz)} "
               f"{made.tzname()}, dari data sampai peristiwa ke-{facts.position} dalam log. Untuk Bupati dan "
               "Forkopimda: data pribadi pelapor tidak dicantumkan.")


def _table(pdf: FPDF, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
           fills: Sequence[tuple[int, int, int] | None] | None = None, fill_column: int = 1,
           align: Sequence[str] | None = None) -> None:
    pdf.set_font("Helvetica", "", 9)
    heading_style = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    with pdf.table(col_widths=tuple(widths), line_height=5, headings_style=heading_style,
                   text_align=tuple(align or ["LEFT"] * len(widths)), padding=1) as table:
        header = table.row()
        for text in headings:
            header.cell(text)
        for index, values in enumerate(rows):
            row = table.row()
            for column, text in enumerate(values):
                fill = fills[index] if fills and column == fill_column else None
                row.cell(text, style=FontFace(fill_color=fill) if fill else None)


def _situation(pdf: FPDF, facts: DayFacts) -> None:
    _heading(pdf, "Situasi per kecamatan")
    _note(pdf, f"Keadaan saat laporan dibuat ({moment(facts.read_at, facts.tz, facts.day)} "
               f"{facts.read_at.astimezone(facts.tz).tzname()}): status siaga dan insiden yang masih terbuka "
               "menurut tingkat keparahan.")
    if not facts.kecamatan:
        _line(pdf, "Tidak ada kecamatan dalam wilayah Anda.")
        return
    rows = [_kecamatan_row(k) for k in facts.kecamatan]
    totals = [sum(k.open_by_severity.get(s.value, 0) for k in facts.kecamatan) for s in SEVERITIES]
    rows.append(["Jumlah", "", *(str(n) for n in totals), str(sum(totals))])
    fills = [LEVEL_FILL.get(k.level) for k in facts.kecamatan] + [None]
    _table(pdf, ["Kecamatan", "Status siaga", *(severity_word(s) for s in SEVERITIES), "Jumlah"], rows,
           (52, 30, 19, 19, 19, 19, 22), fills, align=["LEFT", "LEFT", *["CENTER"] * 5])


def _kecamatan_row(k: KecamatanState) -> list[str]:
    return [k.name, LEVEL_LABELS.get(k.level, k.level), *(str(k.open_by_severity.get(s.value, 0)) for s in SEVERITIES),
            str(k.open_total)]


def _numbers(pdf: FPDF, facts: DayFacts) -> None:
    n = facts.numbers
    tz_name = facts.read_at.astimezone(facts.tz).tzname()
    _heading(pdf, "Angka utama")
    _note(pdf, f"{long_date(facts.day)}, pukul 00.00 sampai 24.00 {tz_name}. Insiden yang digabung ke insiden lain "
               "tidak dihitung.")
    _table(pdf, ["Ukuran", "Nilai"], [
        ["Laporan diterima", str(n.reports)],
        ["Insiden baru", str(n.opened)],
        ["Insiden dieskalasi ke aparat", str(n.escalated)],
        ["Insiden ditutup", str(n.closed)],
        ["Median waktu dari insiden dibuka sampai dieskalasi", duration(n.minutes_to_escalate)],
        ["Median waktu dari penugasan sampai instansi menanggapi", duration(n.minutes_to_acknowledge)],
        ["Median waktu dari insiden dibuka sampai ditutup", duration(n.minutes_to_close)],
    ], (130, 50))


def _together(pdf: FPDF, draw: Callable[[FPDF], None]) -> None:
    """`draw` on a new page rather than split across two (unless it is longer than a page)."""
    with pdf.offset_rendering() as trial:
        draw(cast(FPDF, trial))
    if trial.page_break_triggered and pdf.get_y() > pdf.t_margin + 1:
        pdf.add_page()
    draw(pdf)


def _critical(pdf: FPDF, facts: DayFacts) -> None:
    title = "Insiden kritis dan tinggi"
    if not facts.critical:
        _heading(pdf, title)
        _line(pdf, "Tidak ada insiden kritis atau tinggi pada hari ini.")
        return

    def first(page: FPDF) -> None:  # the heading stays with the first incident
        _heading(page, title)
        _incident(page, facts.critical[0], facts)

    _together(pdf, first)
    for incident in facts.critical[1:]:
        _together(pdf, lambda page, incident=incident: _incident(page, incident, facts))


def _incident(pdf: FPDF, incident: CriticalIncident, facts: DayFacts) -> None:
    place = f"Kec. {incident.kecamatan_name}" + (f", {incident.village_name}" if incident.village_name else "")
    classification = CLASSIFICATION_AUTOMATED if incident.automated else CLASSIFICATION_VERIFIED
    _line(pdf, f"{moment(incident.opened_at, facts.tz, facts.day)} - {place} - {category_label(incident.category)}",
          10, "B")
    _line(pdf, f"{incident.severity.upper()} - {STATUS_LABELS.get(incident.status, incident.status)} - klasifikasi "
               f"{classification} - {incident.report_count} laporan", 9)
    if incident.text:
        _line(pdf, f"Laporan: {incident.text}", 9, "I", 4.5)
    _line(pdf, "Yang sudah dilakukan:", 9, "B")
    if not incident.actions:
        pdf.set_x(pdf.l_margin + 5)
        _line(pdf, "Belum ada tindakan tercatat.", 9)
    for action in incident.actions:
        pdf.set_font("Helvetica", "", 9)
        pdf.set_x(pdf.l_margin + 5)
        pdf.cell(30, 4.5, moment(action.at, facts.tz, facts.day))
        pdf.multi_cell(0, 4.5, action_text(action), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _open_items(pdf: FPDF, facts: DayFacts) -> None:
    tz, day = facts.tz, facts.day
    _heading(pdf, "Hal yang masih terbuka")
    _note(pdf, "Keadaan saat laporan dibuat, dari hari mana pun.")
    _list(pdf, "Insiden yang belum ditutup", ["Dibuka", "Kecamatan", "Kategori", "Keparahan", "Status"],
          [[moment(i.opened_at, tz, day), i.kecamatan_name, category_label(i.category), severity_word(i.severity),
            STATUS_LABELS.get(i.status, i.status)] for i in facts.open_incidents], (30, 34, 56, 22, 38))
    _list(pdf, "Penugasan instansi yang terlambat", ["Instansi", "Kecamatan", "Kategori", "Terlambat", "Batas"],
          [[a.agency.upper(), a.kecamatan_name, category_label(a.category),
            ", ".join(MISSED_WORDS.get(m, m) for m in a.missed), moment(a.due, tz, day)]
           for a in facts.late_assignments], (28, 34, 56, 30, 32))
    _list(pdf, "Cek segera yang belum dijawab", ["Batas", "Kecamatan", "Kategori", "Keparahan"],
          [[moment(c.due, tz, day) if c.due else "-", c.kecamatan_name, category_label(c.category),
            severity_word(c.severity)] for c in facts.open_checks], (32, 40, 80, 28))


def _list(pdf: FPDF, title: str, headings: Sequence[str], rows: Sequence[Sequence[str]],
          widths: Sequence[float]) -> None:
    if pdf.will_page_break(20):
        pdf.add_page()
    _line(pdf, f"{title} ({len(rows)})", 10.5, "B", 6)
    if not rows:
        _line(pdf, "Tidak ada.", 9)
    else:
        _table(pdf, headings, rows[:MAX_ROWS], widths)
        if len(rows) > MAX_ROWS:
            _note(pdf, f"... dan {len(rows) - MAX_ROWS} lainnya: lihat papan situasi.")
    pdf.ln(3)
