"""The daily situation report: facts read from read models built by real events, the PDF's words,
its route and the command that writes it for a scheduled job."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.engine import Engine

from desk_projection.__main__ import main
from desk_projection.daily.facts import read_day
from desk_projection.daily.pdf import latin1, render
from desk_projection.daily.routes import DESK_TZ, daily_report_router
from desk_projection.projector import Delivered, Projector
from desk_projection.redaction import HIDDEN
from desk_shared.access.people import Principal, Role
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Actor, Event, derived_id
from desk_shared.contracts.events import ReportSubmitted
from desk_shared.contracts.incidents import (
    AlertLevel,
    AreaAlertLevelChanged,
    AreaAlertLevelChangedPayload,
    ClosingReason,
    IncidentAssigned,
    IncidentAssignedPayload,
    IncidentClosed,
    IncidentClosedPayload,
    IncidentEscalated,
    IncidentEscalatedPayload,
    IncidentOpened,
    IncidentOpenedPayload,
    IncidentProgressRecorded,
    IncidentProgressRecordedPayload,
    IncidentReport,
    IncidentVerified,
    IncidentVerifiedPayload,
    Stage,
)
from desk_shared.contracts.regions import regions
from desk_shared.contracts.taxonomy import Category, Severity
from desk_testing import samples
from desk_testing.people import StaticGuard

DAY = date(2024, 11, 27)  # in WIB: 26 Nov 17:00 UTC to 27 Nov 17:00 UTC
T0 = samples.START  # 27 Nov 07:00 UTC, 14.00 WIB
BLANGKEJEREN, KUTAPANJANG, RIKIT_GAIB = "11.13.01", "11.13.02", "11.13.03"
PHONE, EMAIL = "0812-3456-7890", "budi.saksi@contoh.id"
OFFICER = Actor(kind="person", id="petugas-1")
READ_AT = datetime(2024, 11, 28, 0, 0, tzinfo=UTC)
GENERATED = datetime(2024, 11, 28, 1, 0, tzinfo=UTC)  # 08.00 WIB


@dataclass(frozen=True)
class Story:
    events: list[Event]
    violence: uuid.UUID  # kritis, escalated, still open
    intimidation: uuid.UUID  # tinggi, closed the same day
    friction: uuid.UUID  # sedang, its 'cek segera' check open
    money: uuid.UUID  # sedang, opened the evening before, its assignment late
    logistics: uuid.UUID  # rendah, opened just after midnight of the next day


def submitted(n: int, kecamatan: str, at: datetime, text: str) -> ReportSubmitted:
    event = samples.report_submitted(n, kecamatan=kecamatan, text=text)
    return event.model_copy(update={"occurred_at": at, "recorded_at": at})


def incident_of(report: ReportSubmitted) -> uuid.UUID:
    return derived_id(report.payload.report_id, "incident")


def opened(report: ReportSubmitted, category: Category, severity: Severity) -> IncidentOpened:
    p = report.payload
    entry = IncidentReport(report_id=p.report_id, reported_at=report.occurred_at, village_code=p.village_code,
                           category=category, severity=severity, summary=p.text)
    return IncidentOpened.caused_by(report, "triage", IncidentOpenedPayload(
        kecamatan_code=p.kecamatan_code, incident_id=incident_of(report), report=entry, category=category,
        severity=severity))


def decided(kind: type[Event], payload: Any, at: datetime, actor: Actor = OFFICER) -> Event:
    return kind.decided(actor, "triage", payload, command=(uuid.uuid4(), kind.event_type), at=at)


def escalated(report: ReportSubmitted, category: Category, severity: Severity, at: datetime) -> Event:
    p = report.payload
    return decided(IncidentEscalated, IncidentEscalatedPayload(
        incident_id=incident_of(report), report_id=p.report_id, kecamatan_code=p.kecamatan_code, category=category,
        severity=severity, summary=p.text, liaisons=samples.liaisons(p.kecamatan_code)), at, Actor.service("triage"))


def assigned(report: ReportSubmitted, agency: str, at: datetime, acknowledge_within: timedelta) -> Event:
    return decided(IncidentAssigned, IncidentAssignedPayload(
        kecamatan_code=report.payload.kecamatan_code, incident_id=incident_of(report), agency=agency,
        reason="routing", acknowledge_by=at + acknowledge_within, act_by=at + timedelta(hours=24)), at)


def acknowledged(report: ReportSubmitted, agency: str, at: datetime, note: str) -> Event:
    return decided(IncidentProgressRecorded, IncidentProgressRecordedPayload(
        kecamatan_code=report.payload.kecamatan_code, incident_id=incident_of(report), agency=agency,
        stage=Stage.ACKNOWLEDGED, note=note), at, Actor.agency(agency))


def story() -> Story:
    money = submitted(10, KUTAPANJANG, datetime(2024, 11, 26, 16, 30, tzinfo=UTC),  # 23.30 WIB, the day before
                      "Warga melaporkan pembagian amplop di dekat TPS 5.")
    friction = submitted(3, BLANGKEJEREN, datetime(2024, 11, 26, 17, 30, tzinfo=UTC),  # 00.30 WIB
                         "Spanduk pasangan calon dirusak di dekat balai desa.")
    violence = submitted(1, BLANGKEJEREN, T0, f"Massa membawa parang mendatangi TPS 03, dua petugas KPPS luka. "
                                              f"Hubungi saksi di {PHONE}.")
    intimidation = submitted(2, RIKIT_GAIB, T0 + timedelta(minutes=5),
                             "Tim sukses mengancam warga agar memilih pasangan calon tertentu.")
    logistics = submitted(5, BLANGKEJEREN, datetime(2024, 11, 27, 17, 30, tzinfo=UTC),  # 00.30 WIB the day after
                          "Kotak suara TPS 7 belum tiba.")
    check = samples.report_triaged(friction, 3, category=Category.SOCIAL_FRICTION, severity=Severity.SEDANG)
    check = check.model_copy(update={"payload": check.payload.model_copy(
        update={"urgent_check_due": friction.occurred_at + timedelta(minutes=5)})})
    events: list[Event] = [
        money, opened(money, Category.MONEY_POLITICS, Severity.SEDANG),
        assigned(money, "bawaslu", money.occurred_at, timedelta(hours=4)),
        friction, opened(friction, Category.SOCIAL_FRICTION, Severity.SEDANG), check,
        violence, opened(violence, Category.VIOLENCE, Severity.KRITIS),
        escalated(violence, Category.VIOLENCE, Severity.KRITIS, T0 + timedelta(seconds=30)),
        assigned(violence, "polsek", T0, timedelta(hours=1)),
        decided(AreaAlertLevelChanged, AreaAlertLevelChangedPayload(
            kecamatan_code=BLANGKEJEREN, level=AlertLevel.SIAGA, previous=AlertLevel.AMAN, score=6.0,
            reason="1 kritis"), T0 + timedelta(seconds=30), Actor.service("triage")),
        acknowledged(violence, "polsek", T0 + timedelta(minutes=10), "anggota meluncur ke lokasi"),
        decided(IncidentVerified, IncidentVerifiedPayload(
            kecamatan_code=BLANGKEJEREN, incident_id=incident_of(violence), category=Category.VIOLENCE,
            severity=Severity.KRITIS, note="dicek ke lapangan"), T0 + timedelta(minutes=20)),
        intimidation, opened(intimidation, Category.INTIMIDATION, Severity.TINGGI),
        assigned(intimidation, "polres", intimidation.occurred_at, timedelta(hours=1)),
        escalated(intimidation, Category.INTIMIDATION, Severity.TINGGI, T0 + timedelta(minutes=7)),
        acknowledged(intimidation, "polres", T0 + timedelta(minutes=21), "didatangi"),
        decided(IncidentClosed, IncidentClosedPayload(
            kecamatan_code=RIKIT_GAIB, incident_id=incident_of(intimidation), reason=ClosingReason.RESOLVED,
            note=f"pelaku diamankan, keterangan saksi ke {EMAIL}"), T0 + timedelta(minutes=65)),
        logistics, opened(logistics, Category.LOGISTICS, Severity.RENDAH),
    ]
    return Story(events, incident_of(violence), incident_of(intimidation), incident_of(friction),
                 incident_of(money), incident_of(logistics))


@pytest.fixture
def told(engine: Engine) -> Story:
    told = story()
    Projector(engine).apply_batch(0, [Delivered(i + 1, e) for i, e in enumerate(told.events)])
    return told


def pdf_text(document: bytes) -> str:
    """The document's words, whitespace collapsed (table cells come out on lines of their own)."""
    pages = PdfReader(io.BytesIO(document)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def facts_of(engine: Engine, scope: Areas | None, regencies: frozenset[str] = frozenset({"11.13"})) -> Any:
    with engine.connect() as conn:
        return read_day(conn, DAY, DESK_TZ, scope, regions(), regencies=regencies, now=READ_AT)


def test_the_days_facts_follow_from_its_events(engine: Engine, told: Story) -> None:
    facts = facts_of(engine, Areas(regencies=("11.13",)))
    n = facts.numbers
    # the report before midnight WIB and the one after the next midnight belong to other days
    assert (n.reports, n.opened, n.escalated, n.closed) == (3, 3, 2, 1)
    assert (n.minutes_to_escalate, n.minutes_to_acknowledge, n.minutes_to_close) == (1.25, 13.0, 60.0)
    assert [i.incident_id for i in facts.critical] == [told.violence, told.intimidation]
    violence, intimidation = facts.critical
    assert PHONE not in violence.text and HIDDEN in violence.text
    assert [a.event_type for a in violence.actions] == [
        "IncidentEscalated", "IncidentAssigned", "IncidentProgressRecorded", "IncidentVerified"]
    assert (intimidation.status, intimidation.actions[-1].event_type) == ("closed", "IncidentClosed")
    assert EMAIL not in str(intimidation.actions[-1].details)
    assert [i.incident_id for i in facts.open_incidents] == [told.violence, told.money, told.friction,
                                                              told.logistics]
    [late] = facts.late_assignments
    assert (late.incident_id, late.agency, late.missed) == (told.money, "bawaslu", ("acknowledged", "acted"))
    assert [c.incident_id for c in facts.open_checks] == [told.friction]
    first = facts.kecamatan[0]
    assert (first.name, first.level, first.open_by_severity) == ("Blangkejeren", "siaga",
                                                                 {"kritis": 1, "sedang": 1, "rendah": 1})
    assert len(facts.kecamatan) == len(regions().kecamatan_in(frozenset({"11.13"})))


def test_a_person_reads_only_their_own_areas(engine: Engine, told: Story) -> None:
    facts = facts_of(engine, Areas(kecamatan=(BLANGKEJEREN,)), regencies=frozenset({"11.13"}))
    assert [k.code for k in facts.kecamatan] == [BLANGKEJEREN]
    assert (facts.numbers.reports, facts.numbers.opened, facts.numbers.closed) == (2, 2, 0)
    assert [i.incident_id for i in facts.critical] == [told.violence]
    assert told.money not in {i.incident_id for i in facts.open_incidents} and not facts.late_assignments


def test_the_pdf_tells_the_day_without_personal_data(engine: Engine, told: Story) -> None:
    document = render(facts_of(engine, Areas(regencies=("11.13",))), "Kabupaten Gayo Lues", GENERATED)
    text = pdf_text(document)
    assert document.startswith(b"%PDF-")
    assert "Laporan Situasi Harian" in text and "Rabu, 27 November 2024" in text
    assert "Dibuat 28 November 2024 pukul 08.00 WIB" in text
    assert "Blangkejeren Siaga 1 0 1 1 3" in text  # kritis, tinggi, sedang, rendah, total
    assert "Laporan diterima 3" in text and "Insiden baru 3" in text and "Insiden ditutup 1" in text
    assert "13 menit" in text and "1 menit 15 detik" in text
    critical = text[text.index("Insiden kritis dan tinggi"):text.index("Hal yang masih terbuka")]
    assert critical.index("Kec. Blangkejeren") < critical.index(Category.VIOLENCE.label)
    assert Category.INTIMIDATION.label in critical and "POLSEK menanggapi - anggota meluncur" in critical
    assert ClosingReason.RESOLVED.label in critical
    for personal in (PHONE, PHONE.replace("-", ""), EMAIL):
        assert personal not in text and personal not in text.replace(" ", "")
    assert HIDDEN in critical
    still_open = text[text.index("Hal yang masih terbuka"):]
    assert "Insiden yang belum ditutup (4)" in still_open and Category.MONEY_POLITICS.label in still_open
    assert "Penugasan instansi yang terlambat (1) " in still_open and "BAWASLU Kutapanjang" in still_open
    assert "Cek segera yang belum dijawab (1)" in still_open
    pages = len(PdfReader(io.BytesIO(document)).pages)
    assert f"Halaman {pages} dari {pages}" in text
    assert render(facts_of(engine, Areas(regencies=("11.13",))), "Kabupaten Gayo Lues", GENERATED) == document


def test_text_outside_latin1_still_prints() -> None:
    assert latin1("“Kotak” suara — rusak… ✅ Pemilu ①") == '"Kotak" suara - rusak... ? Pemilu 1'
    assert latin1("Kecamatan Lhokṣeumawe\tbaris\u200b") == "Kecamatan Lhokseumawe baris"


def client_for(engine: Engine, areas: Areas) -> TestClient:
    app = FastAPI()
    app.include_router(daily_report_router(engine, regions(), frozenset({"11.13"})))
    leader = Principal("p-1", "pimpinan", (Role.LEADER,), areas)
    app.state.people_guard = StaticGuard({"leader-token": leader})
    return TestClient(app, headers={"Authorization": "Bearer leader-token"})


def test_the_route_answers_a_pdf_of_the_persons_areas(engine: Engine, told: Story) -> None:
    client = client_for(engine, Areas(kecamatan=(BLANGKEJEREN,)))
    answer = client.get("/laporan/harian", params={"tanggal": DAY.isoformat()})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'inline; filename="laporan-situasi-{DAY.isoformat()}.pdf"'
    text = pdf_text(answer.content)
    assert "Blangkejeren" in text and "Rikit Gaib" not in text and "Kutapanjang" not in text
    assert client.get("/laporan/harian").status_code == 200  # today, a quiet day
    assert client.get("/laporan/harian", headers={"Authorization": "Bearer wrong"}).status_code == 401


@pytest.mark.parametrize(("tanggal", "why"), [
    ((datetime.now(DESK_TZ) + timedelta(days=2)).date().isoformat(), "future"),
    ("1999-12-31", "before 2000"), ("2024-02-30", "date")])
def test_the_route_refuses_a_day_without_a_report(engine: Engine, tanggal: str, why: str) -> None:
    answer = client_for(engine, Areas(regencies=("11.13",))).get("/laporan/harian", params={"tanggal": tanggal})
    assert answer.status_code == 422 and why in answer.text


def test_the_command_writes_the_pdf(engine: Engine, told: Story, database_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_PROJECTION_DATABASE_URL", database_url)
    folder = tmp_path / "laporan"
    folder.mkdir()
    out = folder / "laporan-situasi.pdf"
    assert main(["daily-report", "--date", DAY.isoformat(), "--out", str(out), "--regency", "11.13"]) == 0
    text = pdf_text(out.read_bytes())
    assert "Kabupaten Gayo Lues" in text and "Rikit Gaib" in text and "Laporan diterima 3" in text
    assert list(folder.iterdir()) == [out]  # no partial file left behind
    future = (datetime.now(DESK_TZ) + timedelta(days=2)).date().isoformat()
    assert main(["daily-report", "--date", future, "--out", str(folder / "x.pdf")]) == 2
    assert main(["daily-report", "--date", DAY.isoformat(), "--out", str(folder / "x.pdf"),
                 "--regency", "99.99"]) == 2
    assert list(folder.iterdir()) == [out]
