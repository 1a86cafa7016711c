"""Deterministic synthetic events (Gayo Lues, Pilkada day 2024) for tests, demos and benchmarks.

Same arguments, same events, ids included: a log built from them can be published twice
and JetStream drops the second copy."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

from desk_shared.contracts.events import (
    Actor,
    AlertDelivered,
    AlertDeliveredPayload,
    AlertFailed,
    AlertFailedPayload,
    AlertRequested,
    AlertRequestedPayload,
    Event,
    IncidentEscalated,
    IncidentEscalatedPayload,
    Liaison,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    ReportTriagedPayload,
    derived_id,
)
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams

START = datetime(2024, 11, 27, 7, 0, tzinfo=UTC)
KECAMATAN = tuple(f"11.13.{n:02d}" for n in range(1, 12))
TEXTS = (
    (Category.MONEY_POLITICS, "Warga melaporkan pembagian amplop kepada pemilih di dekat TPS {n}."),
    (Category.ASN_NEUTRALITY, "Seorang ASN terlihat ikut kampanye pasangan calon, laporan {n}."),
    (Category.VIOLENCE, "Terjadi keributan antar pendukung di depan TPS {n}, satu orang luka."),
    (Category.LOGISTICS, "Surat suara di TPS {n} kurang dari jumlah DPT."),
    (Category.SLANDER_HOAX_HATE, "Beredar hoaks tentang calon di grup WhatsApp desa, laporan {n}."),
)
SEVERITIES = (Severity.RENDAH, Severity.SEDANG, Severity.TINGGI, Severity.KRITIS)
NOTIFY = Actor.service("notify")


def report_submitted(n: int, kecamatan: str | None = None, village: str | None = None,
                     text: str | None = None) -> ReportSubmitted:
    kecamatan = kecamatan or KECAMATAN[n % len(KECAMATAN)]
    at = START + timedelta(seconds=n)
    event_id = derived_id(f"sample-report-{n}", "ReportSubmitted")
    return ReportSubmitted(
        event_id=event_id, occurred_at=at, recorded_at=at, correlation_id=event_id, producer="intake",
        actor=Actor.agency(("bawaslu", "polres", "kpu")[n % 3]),
        payload=ReportSubmittedPayload(
            report_id=derived_id(f"sample-report-{n}", "report"), agency=("bawaslu", "polres", "kpu")[n % 3],
            channel="http" if n % 2 else "nats", kecamatan_code=kecamatan,
            village_code=village if village is not None else f"{kecamatan}.{2001 + n % 5}",
            text=text or TEXTS[n % len(TEXTS)][1].format(n=n), occurred_at=at - timedelta(minutes=5)))


def unconvertible_report(n: int) -> ReportSubmitted:
    """Report n as an older intake accepted it, its `occurred_at` 0001-01-01T00:00:00+14:00: valid,
    but before the first instant UTC can express, so no projection can store it."""
    good = report_submitted(n)
    at = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    return good.model_copy(update={"payload": good.payload.model_copy(update={"occurred_at": at})})


def report_triaged(submitted: ReportSubmitted, n: int, category: Category | None = None,
                   severity: Severity | None = None, automated: bool = True) -> ReportTriaged:
    p = submitted.payload
    return ReportTriaged.caused_by(submitted, "triage", ReportTriagedPayload(
        report_id=p.report_id, incident_id=derived_id(p.report_id, "incident"), kecamatan_code=p.kecamatan_code,
        category=category or TEXTS[n % len(TEXTS)][0], severity=severity or SEVERITIES[n % len(SEVERITIES)],
        confidence=round(0.5 + (n % 5) / 10, 2), automated=automated, needs_review=n % 3 == 0,
        review_reasons=("low_confidence",) if n % 3 == 0 else (), rule_set_version="rules-2024.11",
        model_version="lr-sample" if n % 2 else None,
        evidence=("kata kunci: amplop",) if n % 2 else ()), recorded_at=submitted.recorded_at)


def liaisons(kecamatan: str) -> tuple[Liaison, ...]:
    return (Liaison(id=f"polsek:{kecamatan}", agency="polri", unit=f"Polsek {kecamatan}"),
            Liaison(id=f"koramil:{kecamatan}", agency="tni", unit=f"Koramil {kecamatan}"))


def incident_escalated(triaged: ReportTriaged, submitted: ReportSubmitted) -> IncidentEscalated:
    p = triaged.payload
    return IncidentEscalated.caused_by(triaged, "triage", IncidentEscalatedPayload(
        incident_id=p.incident_id, report_id=p.report_id, kecamatan_code=p.kecamatan_code,
        village_code=submitted.payload.village_code, category=p.category, severity=p.severity,
        summary=submitted.payload.text, liaisons=liaisons(p.kecamatan_code)), recorded_at=triaged.recorded_at)


def alert_id(escalated: IncidentEscalated, liaison: Liaison) -> uuid.UUID:
    return derived_id(f"{escalated.event_id}:{liaison.id}", "alert")


def alert_requested(escalated: IncidentEscalated, liaison: Liaison) -> AlertRequested:
    """What notify records before it sends an alert to one liaison."""
    p = escalated.payload
    message = (f"{p.severity.value.upper()}: {p.category.label} di Kec. {p.kecamatan_code}. Laporan: {p.summary} "
               "Mohon segera ditindaklanjuti.")
    return AlertRequested.caused_by(escalated, "notify", AlertRequestedPayload(
        alert_id=alert_id(escalated, liaison), incident_id=p.incident_id, liaison=liaison, message=message,
        incident=p), what=f"AlertRequested:{liaison.id}", recorded_at=escalated.recorded_at)


def alert_outcome(escalated: IncidentEscalated, liaison: Liaison, delivered: bool) -> AlertDelivered | AlertFailed:
    p = escalated.payload
    at = escalated.occurred_at + timedelta(seconds=2)
    common = {"alert_id": alert_id(escalated, liaison), "incident_id": p.incident_id,
              "liaison_id": liaison.id, "channel": "webhook"}
    cause = f"{escalated.event_id}:{liaison.id}"
    if delivered:
        return AlertDelivered(event_id=derived_id(cause, "AlertDelivered"), occurred_at=at, recorded_at=at,
                              correlation_id=escalated.correlation_id, causation_id=escalated.event_id,
                              producer="notify", actor=NOTIFY,
                              payload=AlertDeliveredPayload(**common, attempts=1, status_code=200))
    return AlertFailed(event_id=derived_id(cause, "AlertFailed"), occurred_at=at, recorded_at=at,
                       correlation_id=escalated.correlation_id, causation_id=escalated.event_id, producer="notify",
                       actor=NOTIFY, payload=AlertFailedPayload(**common, attempts=5, reason="webhook answered 503"))


def incident_story(n: int, alert_requests: bool = False) -> list[Event]:
    """Report n, its triage, and for high/critical severities the escalation and both alert outcomes
    (the TNI alert of every second escalation fails); with `alert_requests`, each alert's
    AlertRequested before the outcomes, as notify records them."""
    submitted = report_submitted(n)
    triaged = report_triaged(submitted, n)
    events: list[Event] = [submitted, triaged]
    if triaged.payload.severity.escalates:
        escalated = incident_escalated(triaged, submitted)
        police, army = escalated.payload.liaisons
        events.append(escalated)
        if alert_requests:
            events += [alert_requested(escalated, police), alert_requested(escalated, army)]
        events += [alert_outcome(escalated, police, True), alert_outcome(escalated, army, n % 8 != 3)]
    return events


def sample_log(reports: int, alert_requests: bool = False) -> list[Event]:
    """The stories of `reports` reports, in causal order."""
    return [event for n in range(reports) for event in incident_story(n, alert_requests)]


POISON = b'{"type": "ReportSubmitted", oops'
"""A message no decoder accepts (not JSON), for dead-letter tests."""


async def publish_log(bus: BusSettings, events: Sequence[Event], *, chunk: int = 300,
                      poison_after: int | None = None) -> int:
    """Append `events` to the log, `chunk` concurrent publishes at a time (each awaited one by one
    would be about 7x slower); with `poison_after`, the POISON message (Msg-Id "poison-1") goes in
    right before `events[poison_after]`. Returns the stream's last sequence."""
    nc = await connect(bus, "sample-publisher")
    try:
        js = nc.jetstream()
        await ensure_streams(js, bus)
        publisher = EventPublisher(js, bus)
        for start in range(0, len(events), chunk):
            part = list(events[start:start + chunk])
            if poison_after is not None and start <= poison_after < start + chunk:
                await publisher.publish_all(part[:poison_after - start])
                await publisher.publish_raw(ReportSubmitted.subject, POISON, "poison-1")
                part = part[poison_after - start:]
            await publisher.publish_all(part)
        return int((await js.stream_info(bus.stream_name)).state.last_seq)
    finally:
        await nc.close()
