"""The alert a liaison receives: Indonesian text with the essentials first, plus the facts."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from desk_shared.contracts.events import AlertRequestedPayload, IncidentEscalatedPayload
from desk_shared.contracts.incidents import AreaAlertLevelChangedPayload, IncidentAssignmentOverduePayload
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.contracts.taxonomy import Category


def _place(directory: RegionDirectory, kecamatan_code: str, village_code: str | None = None) -> str:
    kecamatan = directory.kecamatan_of(kecamatan_code)
    regency = directory.regency_of_kecamatan(kecamatan_code)
    place = f"Kec. {kecamatan.name if kecamatan else kecamatan_code}"
    if village_code and (village := directory.village_of(village_code)):
        place = f"Desa {village.name}, {place}"
    return f"{place}, {regency.name}" if regency else place


def alert_text(incident: IncidentEscalatedPayload, directory: RegionDirectory) -> str:
    place = _place(directory, incident.kecamatan_code, incident.village_code)
    summary = incident.summary.strip()
    if not summary.endswith((".", "!", "?", "…")):
        summary += "."
    reports = f" ({incident.reports} laporan)" if incident.reports > 1 else ""
    return (f"{incident.severity.upper()}: {Category(incident.category).label} di {place}{reports}. "
            f"Laporan: {summary} "
            f"Klasifikasi otomatis oleh sistem, belum diverifikasi petugas Desk Pemilu. "
            f"Mohon segera ditindaklanjuti.")


def step_text(incident: IncidentEscalatedPayload, directory: RegionDirectory, unanswered_minutes: int) -> str:
    """A later step of a chain: nobody acknowledged the first alerts."""
    return f"ESKALASI, belum ditanggapi {unanswered_minutes} menit. {alert_text(incident, directory)}"


def reminder_text(incident: IncidentEscalatedPayload, directory: RegionDirectory, acknowledged_by: str) -> str:
    place = _place(directory, incident.kecamatan_code, incident.village_code)
    return (f"PENGINGAT: {incident.severity.upper()}: {Category(incident.category).label} di {place} sudah "
            f"diterima ({acknowledged_by}) tetapi belum ditutup. Mohon laporkan perkembangan penanganannya.")


def exhausted_text(incident: IncidentEscalatedPayload, directory: RegionDirectory, unanswered_minutes: int) -> str:
    place = _place(directory, incident.kecamatan_code, incident.village_code)
    return (f"TIDAK ADA TANGGAPAN: {incident.severity.upper()}: {Category(incident.category).label} di {place}. "
            f"Tidak seorang pun mengonfirmasi peringatan dalam {unanswered_minutes} menit. Mohon Desk Pemilu "
            "menghubungi petugas di lapangan secara langsung.")


def undelivered_text(alert: AlertRequestedPayload, reason: str) -> str:
    return (f"GAGAL TERKIRIM: peringatan untuk {alert.liaison.unit} ({alert.liaison.id}) tidak dapat dikirim "
            f"({reason}). Mohon hubungi langsung. Isi peringatan: {alert.message}")


def digest_text(held: Sequence[AlertRequestedPayload], directory: RegionDirectory) -> str:
    """Several held alerts in one: the count and, per incident, how bad, what and where."""
    lines = []
    for n, alert in enumerate(held, 1):
        incident = alert.incident
        if incident is None:
            lines.append(f"{n}) {alert.message}")
            continue
        place = _place(directory, incident.kecamatan_code, incident.village_code)
        lines.append(f"{n}) {incident.severity.upper()}: {Category(incident.category).label} di {place}: "
                     f"{incident.summary.strip()}")
    return (f"RINGKASAN: {len(held)} peringatan untuk {held[0].liaison.unit} dalam beberapa menit terakhir "
            f"(digabung agar tidak membanjiri). " + " ".join(lines) + " Klasifikasi otomatis, belum diverifikasi "
            "petugas Desk Pemilu. Mohon konfirmasi masing-masing.")


def level_text(area: AreaAlertLevelChangedPayload, directory: RegionDirectory) -> str:
    return (f"STATUS {area.level.value.upper()}: {_place(directory, area.kecamatan_code)} naik dari "
            f"{area.previous.label} ke {area.level.label} (skor {area.score:g}). Mohon siaga dan koordinasi dengan "
            "Desk Pemilu.")


_STAGES = {"acknowledged": "menanggapi", "acted": "bertindak di lapangan"}


def overdue_text(overdue: IncidentAssignmentOverduePayload, directory: RegionDirectory) -> str:
    what = f"insiden {Category(overdue.category).label}" if overdue.category else "insiden"
    severity = f" ({overdue.severity.value})" if overdue.severity else ""
    return (f"TERLAMBAT: {overdue.agency.upper()} belum {_STAGES.get(overdue.stage.value, overdue.stage.value)} "
            f"atas {what}{severity} di {_place(directory, overdue.kecamatan_code)}; batas waktunya sudah lewat. "
            "Mohon Desk Pemilu menindaklanjuti.")


def alert_body(alert: AlertRequestedPayload) -> dict[str, Any]:
    """The JSON a liaison's webhook receives (`incident` or `area`, as the alert is about)."""
    body: dict[str, Any] = {
        "alert_id": str(alert.alert_id),
        "incident_id": str(alert.incident_id) if alert.incident_id else None,
        "liaison": alert.liaison.model_dump(mode="json"),
        "message": alert.message,
    }
    if alert.incident is not None:
        body["incident"] = alert.incident.model_dump(mode="json")
    if alert.area is not None:
        body["area"] = alert.area.model_dump(mode="json")
    if alert.overdue is not None:
        body["overdue"] = alert.overdue.model_dump(mode="json")
    if alert.chain_id is not None:
        body["chain_id"] = str(alert.chain_id)
    return body


SMS_LIMIT = 160


def short_text(message: str, link: str | None = None, limit: int = SMS_LIMIT) -> str:
    """The alert in one SMS: plain ASCII (the GSM alphabet: an accent or a dash would cut an SMS
    to 70 characters), the essentials that open the message kept, the rest cut, the link whole."""
    plain = unicodedata.normalize("NFKD", message).encode("ascii", "ignore").decode()
    plain = " ".join(plain.split())
    tail = f" {link}" if link else ""
    room = limit - len(tail)
    if len(plain) > room:
        plain = plain[:room - 3].rstrip(" ,.;:") + "..."
    return plain + tail


def email_subject(message: str) -> str:
    """The message's first sentence (what, where, how bad), at most 150 characters."""
    first = message.split(". ", 1)[0]
    return first if len(first) <= 150 else first[:147] + "..."
