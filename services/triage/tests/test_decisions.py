"""What triage emits for a report, with deterministic ids and the kecamatan's liaisons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from desk_shared.contracts.events import (
    Actor,
    IncidentEscalated,
    ReportSubmitted,
    ReportSubmittedPayload,
    ReportTriaged,
    derived_id,
)
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity
from desk_triage.classifier import Classification, classify, default_rules
from desk_triage.decisions import summarise, triage_events
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


def test_a_critical_report_is_triaged_and_escalated_with_derived_ids() -> None:
    report = submitted("Massa membakar kotak suara di TPS 03, dua petugas KPPS luka-luka.")
    liaisons = kecamatan_liaisons("11.13.01", regions())
    triaged, escalated = triage_events(report, classify(report.payload.text, None, default_rules()), liaisons,
                                       "triage")
    incident_id = derived_id(report.payload.report_id, "incident")
    assert isinstance(triaged, ReportTriaged) and isinstance(escalated, IncidentEscalated)
    assert triaged.event_id == derived_id(report.event_id, "ReportTriaged")
    assert escalated.event_id == derived_id(report.event_id, "IncidentEscalated")
    assert triaged.payload.incident_id == escalated.payload.incident_id == incident_id
    assert triaged.payload.automated and triaged.payload.rule_set_version == default_rules().version
    assert escalated.payload.severity is Severity.KRITIS and escalated.payload.liaisons == liaisons
    assert escalated.payload.village_code == "11.13.01.2002"
    assert {e.causation_id for e in (triaged, escalated)} == {report.event_id}
    assert {e.correlation_id for e in (triaged, escalated)} == {report.correlation_id}
    assert {e.occurred_at for e in (triaged, escalated)} == {NOW}  # the time of the report, not of the decision


def test_a_low_report_is_only_triaged() -> None:
    report = submitted("Situasi aman.")
    low = Classification(Category.OTHER, Severity.SEDANG, 0.4, 0.6, urgent_check=False, needs_review=True,
                         review_reasons=("low_confidence",), evidence=(), rule_set_version="t-1", model_version="m-1")
    [triaged] = triage_events(report, low, (), "triage")
    assert isinstance(triaged, ReportTriaged)
    p = triaged.payload
    assert (p.rule_set_version, p.model_version, p.needs_review, p.review_reasons, p.severity_confidence) == (
        "t-1", "m-1", True, ("low_confidence",), 0.6)


def test_the_same_report_gives_the_same_events() -> None:
    """A replay decides the same events: ids, payloads, times of occurrence (only the time each
    is handed to the log differs)."""
    report = submitted("Petugas KPPS diancam orang tak dikenal di TPS 5.")
    first = triage_events(report, classify(report.payload.text, None, default_rules()), (), "triage")
    again = triage_events(report, classify(report.payload.text, None, default_rules()), (), "triage")
    assert [e.model_dump(exclude={"recorded_at"}) for e in first] == [e.model_dump(exclude={"recorded_at"})
                                                                       for e in again]


def test_summary_is_one_line_and_cut_at_a_word() -> None:
    assert summarise("dua\n  baris") == "dua baris"
    cut = summarise("kata " * 100, limit=30)
    assert len(cut) <= 30 and cut.endswith("kata…")
