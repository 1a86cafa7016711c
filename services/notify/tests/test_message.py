"""The alert text and body a liaison receives."""

from __future__ import annotations

import uuid

from desk_notify.message import alert_body, alert_text
from desk_shared.contracts.events import AlertRequestedPayload, IncidentEscalatedPayload, Liaison
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity

POLSEK = Liaison(id="polsek:11.13.01", agency="polri", unit="Polsek Blangkejeren")


def incident(village: str | None = "11.13.01.2002") -> IncidentEscalatedPayload:
    return IncidentEscalatedPayload(
        incident_id=uuid.uuid4(), report_id=uuid.uuid4(), kecamatan_code="11.13.01", village_code=village,
        category=Category.VIOLENCE, severity=Severity.KRITIS,
        summary="Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka.", liaisons=(POLSEK,))


def test_essentials_come_first() -> None:
    text = alert_text(incident(), regions())
    assert text.startswith("KRITIS: Kekerasan dan kerusuhan di Desa Penampaan, Kec. Blangkejeren, "
                           "Kabupaten Gayo Lues.")


def test_text_has_the_summary_and_says_it_is_unverified() -> None:
    text = alert_text(incident(village=None), regions())
    assert "Kec. Blangkejeren, Kabupaten Gayo Lues" in text and "Desa" not in text
    assert "Massa membakar kotak suara di TPS 03" in text
    assert "otomatis" in text and "belum diverifikasi petugas Desk Pemilu" in text


def test_body_carries_ids_liaison_and_the_structured_incident() -> None:
    payload = incident()
    alert_id = uuid.uuid4()
    body = alert_body(AlertRequestedPayload(alert_id=alert_id, incident_id=payload.incident_id, liaison=POLSEK,
                                            message=alert_text(payload, regions()), incident=payload))
    assert set(body) == {"alert_id", "incident_id", "liaison", "message", "incident"}
    assert body["alert_id"] == str(alert_id) and body["incident_id"] == str(payload.incident_id)
    assert body["liaison"] == {"id": "polsek:11.13.01", "agency": "polri", "unit": "Polsek Blangkejeren"}
    assert body["incident"]["severity"] == "kritis" and body["incident"]["kecamatan_code"] == "11.13.01"
    assert body["message"].startswith("KRITIS: Kekerasan dan kerusuhan di Desa Penampaan")


def test_a_summary_without_a_full_stop_gets_one() -> None:
    payload = incident().model_copy(update={"summary": "bentrok di TPS 2"})
    assert "Laporan: bentrok di TPS 2. Klasifikasi otomatis" in alert_text(payload, regions())


def test_a_kecamatan_rising_to_siaga_and_a_missed_deadline_have_their_own_alerts() -> None:
    from datetime import UTC, datetime

    from desk_notify.fanout import level_alert_requests, overdue_alert_requests
    from desk_shared.contracts.envelope import Actor
    from desk_shared.contracts.incidents import (
        AlertLevel,
        AreaAlertLevelChanged,
        AreaAlertLevelChangedPayload,
        IncidentAssignmentOverdue,
        IncidentAssignmentOverduePayload,
        Stage,
    )

    desk = Liaison(id="desk:11.13", agency="desk", unit="Desk Pemilu Kabupaten Gayo Lues")
    rise = AreaAlertLevelChanged.decided(Actor.service("triage"), "triage", AreaAlertLevelChangedPayload(
        kecamatan_code="11.13.01", level=AlertLevel.SIAGA, previous=AlertLevel.WASPADA, score=6.0, reason="1 kritis",
        liaisons=(POLSEK, desk)))
    alerts = level_alert_requests(rise, regions(), "notify")
    assert [a.payload.liaison.id for a in alerts] == ["polsek:11.13.01", "desk:11.13"]
    assert alerts[0].payload.message.startswith("STATUS SIAGA: Kec. Blangkejeren, Kabupaten Gayo Lues naik dari "
                                                "Waspada ke Siaga")
    assert set(alert_body(alerts[0].payload)) == {"alert_id", "incident_id", "liaison", "message", "area"}
    late = IncidentAssignmentOverdue.decided(Actor.service("triage"), "triage", IncidentAssignmentOverduePayload(
        kecamatan_code="11.13.01", incident_id=uuid.uuid4(), agency="polsek", stage=Stage.ACKNOWLEDGED,
        due=datetime(2024, 11, 27, 8, tzinfo=UTC), category=Category.VIOLENCE, severity=Severity.KRITIS,
        liaisons=(desk,)))
    [reminder] = overdue_alert_requests(late, regions(), "notify")
    assert reminder.payload.liaison == desk and reminder.payload.incident_id == late.payload.incident_id
    assert reminder.payload.message.startswith("TERLAMBAT: POLSEK belum menanggapi atas insiden Kekerasan dan "
                                               "kerusuhan (kritis) di Kec. Blangkejeren")
