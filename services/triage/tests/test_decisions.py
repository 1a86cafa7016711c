"""What triage records about a report, with deterministic ids, and the kecamatan's liaisons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from desk_shared.contracts.events import Actor, ReportSubmitted, ReportSubmittedPayload, derived_id
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier import Classification, classify, default_rules
from desk_triage.decisions import summarise, triaged_event
from desk_triage.liaisons import kecamatan_liaisons

NOW = datetime(2024, 11, 27, 9, 30, tzinfo=UTC)


def submitted(text: str) -> ReportSubmitted:
    report_id = uuid.uuid4()
    return ReportSubmitted(event_id=uuid.uuid4(), occurred_at=NOW, recorded_at=NOW, correlation_id=report_id,
                           producer="intake", actor=Actor.agency("bawaslu"), payload=ReportSubmittedPayload(
                               report_id=report_id, agency="bawaslu", channel="http", kecamatan_code="11.13.01",
                               village_code="11.13.01.2002", text=text))


def test_liaisons_are_the_kecamatan_polsek_and_koramil() -> None:
    polsek, koramil = kecamatan_liaisons("11.13.01", regions())
    assert (polsek.id, polsek.agency, polsek.unit) == ("polsek:11.13.01", "polri", "Polsek Blangkejeren")
    assert (koramil.id, koramil.agency, koramil.unit) == ("koramil:11.13.01", "tni", "Koramil Blangkejeren")


def test_a_report_is_triaged_into_its_incident_with_a_derived_id() -> None:
    report = submitted("Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka.")
    incident_id = uuid.uuid4()
    triaged = triaged_event(report, classify(report.payload.text, None, default_rules()), incident_id, "triage",
                            timedelta(minutes=5))
    assert triaged.event_id == derived_id(report.event_id, "ReportTriaged")
    assert triaged.payload.incident_id == incident_id and triaged.payload.severity is Severity.KRITIS
    assert triaged.payload.automated and triaged.payload.rule_set_version == default_rules().version
    assert triaged.payload.urgent_check_due is None  # urgency was clear: no check
    assert (triaged.causation_id, triaged.correlation_id, triaged.occurred_at) == (
        report.event_id, report.correlation_id, NOW)  # the time of the report, not of the decision


def test_a_check_is_due_only_when_asked_for() -> None:
    report = submitted("Situasi aman.")
    low = Classification(Category.OTHER, Severity.SEDANG, 0.4, 0.6, urgent_check=True, needs_review=True,
                         review_reasons=("low_confidence",), evidence=(), rule_set_version="t-1", model_version="m-1")
    p = triaged_event(report, low, uuid.uuid4(), "triage", timedelta(minutes=5)).payload
    assert (p.rule_set_version, p.model_version, p.needs_review, p.review_reasons, p.severity_confidence) == (
        "t-1", "m-1", True, ("low_confidence",), 0.6)
    assert p.urgent_check_due == NOW + timedelta(minutes=5)
    assert triaged_event(report, low, uuid.uuid4(), "triage", None).payload.urgent_check_due is None


def test_the_same_report_gives_the_same_event() -> None:
    """A replay decides the same event: id, payload, time of occurrence (only the time it is handed
    to the log differs)."""
    report = submitted("Petugas KPPS diancam orang tak dikenal di TPS 5.")
    incident_id = uuid.uuid4()
    first, again = (triaged_event(report, classify(report.payload.text, None, default_rules()), incident_id, "triage",
                                  None) for _ in range(2))
    assert first.model_dump(exclude={"recorded_at"}) == again.model_dump(exclude={"recorded_at"})


def test_summary_is_one_line_and_cut_at_a_word() -> None:
    assert summarise("dua\n  baris") == "dua baris"
    cut = summarise("kata " * 100, limit=30)
    assert len(cut) <= 30 and cut.endswith("kata…")
