"""The alert a liaison receives: Indonesian text with the essentials first, plus the facts."""

from __future__ import annotations

import uuid
from typing import Any

from desk_shared.events import IncidentEscalatedPayload, Liaison
from desk_shared.regions import RegionDirectory
from desk_shared.taxonomy import Category


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


def alert_body(alert_id: uuid.UUID, liaison: Liaison, incident: IncidentEscalatedPayload,
               directory: RegionDirectory) -> dict[str, Any]:
    return {
        "alert_id": str(alert_id),
        "incident_id": str(incident.incident_id),
        "liaison": liaison.model_dump(mode="json"),
        "message": alert_text(incident, directory),
        "incident": incident.model_dump(mode="json"),
    }
