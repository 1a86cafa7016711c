"""The alert a liaison receives: Indonesian text with the essentials first, plus the facts."""

from __future__ import annotations

from typing import Any

from desk_shared.contracts.events import AlertRequestedPayload, IncidentEscalatedPayload
from desk_shared.contracts.regions import RegionDirectory
from desk_shared.contracts.taxonomy import Category


def alert_text(incident: IncidentEscalatedPayload, directory: RegionDirectory) -> str:
    kecamatan = directory.kecamatan_of(incident.kecamatan_code)
    regency = directory.regency_of_kecamatan(incident.kecamatan_code)
    place = f"Kec. {kecamatan.name if kecamatan else incident.kecamatan_code}"
    if incident.village_code and (village := directory.village_of(incident.village_code)):
        place = f"Desa {village.name}, {place}"
    if regency:
        place = f"{place}, {regency.name}"
    summary = incident.summary.strip()
    if not summary.endswith((".", "!", "?", "…")):
        summary += "."
    return (f"{incident.severity.upper()}: {Category(incident.category).label} di {place}. "
            f"Laporan: {summary} "
            f"Klasifikasi otomatis oleh sistem, belum diverifikasi petugas Desk Pemilu. "
            f"Mohon segera ditindaklanjuti.")


def alert_body(alert: AlertRequestedPayload) -> dict[str, Any]:
    """The JSON a liaison's webhook receives."""
    return {
        "alert_id": str(alert.alert_id),
        "incident_id": str(alert.incident_id),
        "liaison": alert.liaison.model_dump(mode="json"),
        "message": alert.message,
        "incident": alert.incident.model_dump(mode="json"),
    }
