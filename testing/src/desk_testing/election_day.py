"""A generated election day in Kabupaten Gayo Lues (Pilkada, 27 November 2024), for the
determinism check and its benchmark.

`election_day(reports, seed)` is pure: the same arguments give the same ReportSubmitted events,
ids included. Reports come from many agencies over the whole day (05:00-24:00 WIB) in every
kecamatan of the regency, with the texts of the triage corpus (every category; names of places
replaced by Gayo Lues ones, TPS numbers made consistent within a happening): happenings told by one
to several sources, follow-ups, flashpoints where dozens of reports arrive within half an hour, and
the corpus's grouping streams replayed as whole kecamatan-days.

`OfficerDesk` is the desk's officers: for each ReportTriaged it plans, from the seed and the report
id, what officers do (verify, change severity or category, note, assign, record an agency's
progress, close, reopen, merge, answer 'cek segera'; split is off, see SPLITS) and sends it to
triage's command door the way the board does (`desk.triage.command`, with an officer's session
token). `run_election_day` publishes the
reports straight into the log (as intake would) while the officers work."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import random
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from nats.aio.msg import Msg

from desk_access.nats_authorization import AUDITOR, OPERATOR
from desk_pemilu.embedded_nats import EmbeddedNats, free_port
from desk_pemilu.nats_users import NatsRoles, secured_nats
from desk_pemilu.processes import SERVICES, ServiceProcess, service_command, stop_all
from desk_shared.contracts import subjects
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor, derived_id
from desk_shared.contracts.incidents import ClosingReason, IncidentAssigned, Stage
from desk_shared.contracts.people import Role
from desk_shared.contracts.regions import regions
from desk_shared.contracts.reports import ReportSubmitted, ReportSubmittedPayload, ReportTriaged
from desk_shared.contracts.taxonomy import Category, Severity
from desk_shared.runtime.bus import connect
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings
from desk_shared.runtime.streams import ensure_streams
from desk_testing.people import person_token

CORPUS = Path(__file__).resolve().parents[3] / "services" / "triage" / "corpus"
LABELLED = ("dev.jsonl", "test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")
REGENCY = "11.13"
DAY_START = datetime(2024, 11, 26, 22, 0, tzinfo=UTC)
"""05:00 WIB on election day, 27 November 2024."""
HOURS = (1, 2, 6, 8, 8, 7, 7, 6, 9, 10, 9, 7, 6, 5, 4, 4, 3, 2, 1)
"""Reports per hour from 05:00 WIB (weights): dawn handouts, the TPS opening, voting, counting, recap."""
C = Category
PHASES: tuple[tuple[int, dict[Category, int]], ...] = (
    (0, {C.MONEY_POLITICS: 6, C.INTIMIDATION: 2, C.VILLAGE_OFFICIAL_NEUTRALITY: 2, C.LOGISTICS: 2, C.OTHER: 1}),
    (2, {C.LOGISTICS: 6, C.INTIMIDATION: 2, C.SECURITY_FORCES_NEUTRALITY: 1, C.ASN_NEUTRALITY: 1, C.OTHER: 1}),
    (3, {C.MONEY_POLITICS: 3, C.INTIMIDATION: 3, C.ASN_NEUTRALITY: 2, C.VILLAGE_OFFICIAL_NEUTRALITY: 2,
         C.SECURITY_FORCES_NEUTRALITY: 2, C.STATE_RESOURCE_MISUSE: 1, C.CAMPAIGN_VIOLATION: 3,
         C.SLANDER_HOAX_HATE: 2, C.SOCIAL_FRICTION: 2, C.VIOLENCE: 1, C.LOGISTICS: 3, C.OTHER: 2}),
    (8, {C.LOGISTICS: 4, C.SOCIAL_FRICTION: 3, C.VIOLENCE: 3, C.INTIMIDATION: 3, C.SLANDER_HOAX_HATE: 2,
          C.OTHER: 2, C.CAMPAIGN_VIOLATION: 1}),
    (14, {C.LOGISTICS: 3, C.SOCIAL_FRICTION: 2, C.SLANDER_HOAX_HATE: 3, C.VIOLENCE: 1, C.INTIMIDATION: 2,
          C.OTHER: 3}),
)
"""The day's phases, from which hour after 05:00 WIB each holds, and the kinds of report in it (weights): dawn
handouts (serangan fajar), the TPS opening at 07:00, voting from 08:00, counting from 13:00, recap from 19:00."""
AGENCIES_BY_KIND: dict[Category, tuple[str, ...]] = {
    C.LOGISTICS: ("kpu", "ppk", "ppk", "panwascam"), C.VIOLENCE: ("polres", "polsek", "polsek", "koramil"),
    C.SOCIAL_FRICTION: ("polsek", "camat", "koramil", "kesbangpol"), C.MONEY_POLITICS: ("bawaslu", "panwascam"),
    C.INTIMIDATION: ("panwascam", "polsek", "bawaslu"), C.ASN_NEUTRALITY: ("bawaslu", "kesbangpol", "camat"),
    C.SLANDER_HOAX_HATE: ("kominfo", "bawaslu", "kesbangpol"), C.OTHER: ("camat", "kesbangpol", "panwascam"),
}
"""Who usually reports each kind (any agency may report anything)."""
AGENCIES = ("kpu", "bawaslu", "polres", "kodim", "kejari", "kesbangpol", "kominfo", "ppk", "panwascam", "polsek",
            "koramil", "camat")
LOCAL = frozenset({"ppk", "panwascam", "polsek", "koramil", "camat"})
"""Agencies of one kecamatan: their code names it (`panwascam-pining`)."""
STREAM_SOURCES = {"sms": "kesbangpol", "citizen": "kesbangpol", "recap": "ppk"}
"""The grouping streams' sources that are not agencies: citizens' SMS and web forms reach Kesbangpol."""
_TPS = re.compile(r"(?i)\b(tps\s*(?:no\.?|nomor|nmr)?\s*[-.:#]?\s*)0*\d{1,3}\b")


@dataclass(frozen=True)
class Sample:
    """A corpus text, with the names of the places it was written about."""

    text: str
    category: Category
    hint: Category | None
    places: tuple[str, ...]


@dataclass(frozen=True)
class StreamRow:
    minute: int
    village: str | None
    source: str
    text: str
    places: tuple[str, ...]


@dataclass(frozen=True)
class Planned:
    """One report of the day before it becomes an event."""

    at: datetime
    kecamatan: str
    village: str | None
    agency: str
    text: str
    hint: Category | None
    happened_at: datetime | None


def _places(village: str | None, kecamatan: str) -> tuple[str, ...]:
    directory = regions()
    names = [directory.villages[village].name if village and village in directory.villages else None,
             directory.kecamatan[kecamatan].name if kecamatan in directory.kecamatan else None]
    regency = directory.regency_of_kecamatan(kecamatan)
    if regency:
        names.append(regency.name.removeprefix("Kabupaten ").removeprefix("Kota "))
    return tuple(n for n in names if n and len(n) > 3)


@cache
def samples(corpus: Path = CORPUS) -> tuple[Sample, ...]:
    """Every labelled report of the triage corpus."""
    found = []
    for part in LABELLED:
        for line in (corpus / part).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found.append(Sample(row["text"], Category(row["category"]), Category(row["hint"]) if row["hint"]
                                    else None, _places(row.get("village"), row["kecamatan"])))
    return tuple(found)


@cache
def streams(corpus: Path = CORPUS) -> tuple[tuple[StreamRow, ...], ...]:
    """The corpus's grouping streams: each a kecamatan-day of reports about a few happenings."""
    by_stream: dict[str, list[StreamRow]] = defaultdict(list)
    for path in sorted((corpus / "grouping").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                by_stream[row["stream"]].append(StreamRow(row["minute"], row.get("village"), row["source"],
                                                          row["text"], _places(row.get("village"), row["kecamatan"])))
    return tuple(tuple(sorted(rows, key=lambda r: r.minute)) for _, rows in sorted(by_stream.items()))


@cache
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?i)\b{re.escape(name)}\b")


def _relocated(text: str, places: Sequence[str], names: Sequence[str], tps: int | None) -> str:
    """The text told of Gayo Lues: its places' names replaced, its TPS numbers the happening's."""
    for old, new in zip(places, names, strict=False):
        text = _name_pattern(old).sub(new, text)
    if tps is not None:
        text = _TPS.sub(lambda m: f"{m.group(1)}{tps:02d}", text)
    return text


class _Day:
    """The regency's places and the random choices of one generated day."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        directory = regions()
        self.kecamatan = sorted(a.code for a in directory.kecamatan_in(frozenset({REGENCY})))
        self.villages: dict[str, list[str]] = defaultdict(list)
        for village in sorted(directory.villages.values(), key=lambda v: v.code):
            if village.parent_code in self.kecamatan:
                self.villages[village.parent_code].append(village.code)
        self.weights = [len(self.villages[k]) + (12 if k.endswith(".01") else 0) for k in self.kecamatan]
        self.by_kind: dict[Category, list[Sample]] = defaultdict(list)
        for sample in samples():
            self.by_kind[sample.category].append(sample)

    def name_of(self, code: str) -> str:
        directory = regions()
        area = directory.villages.get(code) or directory.kecamatan.get(code)
        return area.name if area else code

    def place(self) -> tuple[str, str]:
        kecamatan = self.rng.choices(self.kecamatan, self.weights)[0]
        return kecamatan, self.rng.choice(self.villages[kecamatan])

    def time(self) -> datetime:
        hour = self.rng.choices(range(len(HOURS)), HOURS)[0]
        return DAY_START + timedelta(hours=hour, seconds=self.rng.uniform(0, 3600))

    def kind(self, at: datetime) -> Category:
        hour = (at - DAY_START).total_seconds() / 3600
        weights = next(w for start, w in reversed(PHASES) if hour >= start)
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def agency(self, kind: Category | None, kecamatan: str) -> str:
        usual = AGENCIES_BY_KIND.get(kind) if kind else None
        code = self.rng.choice(usual) if usual and self.rng.random() < 0.7 else self.rng.choice(AGENCIES)
        if code in LOCAL:
            return f"{code}-{self.name_of(kecamatan).lower().replace(' ', '-')}"
        return code

    def report(self, at: datetime, kecamatan: str, village: str | None, sample: Sample, tps: int | None,
               agency: str | None = None) -> Planned:
        names = (self.name_of(village) if village else self.name_of(kecamatan), self.name_of(kecamatan), "Gayo Lues")
        hint = sample.hint if sample.hint else (sample.category if self.rng.random() < 0.15 else None)
        happened = at - timedelta(minutes=self.rng.uniform(2, 90)) if self.rng.random() < 0.6 else None
        return Planned(at, kecamatan, village if self.rng.random() < 0.97 else None,
                       agency or self.agency(sample.category, kecamatan),
                       _relocated(sample.text, sample.places, names, tps), hint, happened)

    def happening(self, at: datetime | None = None, size: int | None = None) -> list[Planned]:
        """One happening told by one or more sources within hours, sometimes followed up."""
        at = at or self.time()
        kecamatan, village = self.place()
        kind = self.kind(at)
        tps = self.rng.randint(1, 30) if self.rng.random() < 0.6 else None
        size = size or self.rng.choices((1, 2, 3, 4, 5, 6, 8), (50, 20, 12, 7, 5, 4, 2))[0]
        told = []
        for _ in range(size):
            told.append(self.report(at, kecamatan, village, self.rng.choice(self.by_kind[kind]), tps))
            at += timedelta(minutes=self.rng.expovariate(1 / 15))
        if self.rng.random() < 0.15:  # "situasi sudah kondusif" some hours later
            later = at + timedelta(minutes=self.rng.uniform(30, 180))
            told.append(self.report(later, kecamatan, village, self.rng.choice(self.by_kind[C.OTHER]), tps))
        return told

    def flashpoint(self) -> list[Planned]:
        """Dozens of reports within half an hour: a clash at a count, a TPS stormed, a blockade."""
        at = DAY_START + timedelta(hours=self.rng.uniform(8, 16))
        kecamatan, village = self.place()
        kind = self.rng.choice((C.VIOLENCE, C.SOCIAL_FRICTION, C.INTIMIDATION))
        tps = self.rng.randint(1, 30)
        told = []
        for _ in range(self.rng.randint(15, 40)):
            sample = self.rng.choice(self.by_kind[self.rng.choice((kind, kind, kind, C.VIOLENCE, C.OTHER))])
            told.append(self.report(at + timedelta(minutes=self.rng.uniform(0, 30)), kecamatan,
                                    village if self.rng.random() < 0.8 else self.place()[1], sample, tps))
        return told

    def stream(self, rows: Sequence[StreamRow]) -> list[Planned]:
        """A grouping stream replayed in one kecamatan from some hour on, its villages mapped to ours."""
        start = DAY_START + timedelta(hours=self.rng.uniform(1, 15))
        kecamatan = self.rng.choice(self.kecamatan)
        mapped: dict[str, str] = {}
        told = []
        for row in rows:
            village = None
            if row.village:
                village = mapped.setdefault(row.village, self.rng.choice(self.villages[kecamatan]))
            names = (self.name_of(village) if village else self.name_of(kecamatan), self.name_of(kecamatan),
                     "Gayo Lues")
            source = STREAM_SOURCES.get(row.source, row.source)
            agency = f"{source}-{self.name_of(kecamatan).lower().replace(' ', '-')}" if source in LOCAL else source
            told.append(Planned(start + timedelta(minutes=row.minute), kecamatan, village, agency,
                                _relocated(row.text, row.places, names, None), None, None))
        return told


def election_day(reports: int, seed: int = 2024) -> list[ReportSubmitted]:
    """`reports` ReportSubmitted events of one election day, in the order they arrive."""
    day = _Day(seed)
    planned: list[Planned] = []
    every_stream = list(streams())
    while len(planned) < reports:
        roll = day.rng.random()
        if roll < 0.004:
            planned += day.flashpoint()
        elif roll < 0.02:
            planned += day.stream(day.rng.choice(every_stream))
        else:
            planned += day.happening()
    planned = planned[:reports]
    planned.sort(key=lambda p: p.at)
    return [_submitted(n, p, seed) for n, p in enumerate(planned)]


def _submitted(n: int, p: Planned, seed: int) -> ReportSubmitted:
    key = f"gl-{seed}-{n:06d}"
    report_id = derived_id(p.agency, f"report:{key}")  # as intake derives it from the idempotency key
    at = p.at.replace(microsecond=p.at.microsecond // 1000 * 1000)
    return ReportSubmitted(
        event_id=report_id, occurred_at=at, recorded_at=at, correlation_id=report_id, producer="intake",
        actor=Actor.agency(p.agency), payload=ReportSubmittedPayload(
            report_id=report_id, agency=p.agency, channel="nats" if n % 3 == 0 else "http", kecamatan_code=p.kecamatan,
            village_code=p.village, text=p.text, occurred_at=p.happened_at, category_hint=p.hint,
            idempotency_key=key))


# ----------------------------------------------------------------------------- the desk's officers
@dataclass(frozen=True, order=True)
class Command:
    """An officer's action on an incident, sent once `due` reports have been triaged."""

    due: int
    order: int
    incident_id: uuid.UUID = field(compare=False)
    action: str = field(compare=False)
    body: dict[str, Any] = field(compare=False)
    officer: int = field(compare=False)


NOTES = ("Sudah dikonfirmasi ke Panwascam", "Dicek langsung oleh petugas di lapangan", "Menunggu laporan PPK",
         "Koordinasi dengan Polsek setempat", "Saksi paslon sudah dimintai keterangan", "Situasi terpantau kondusif")
SEVERITIES = list(Severity)
CLOSED = 0.75
"""Share of incidents the desk closes during the day (what it leaves open, every new report is weighed against)."""
HANDLED_AT = 25
"""An incident with this many reports is closed as handled a little later (unless it was before)."""
SPLITS = 0.0
"""Share of joined reports an officer splits off. None yet: the projection cannot apply an IncidentSplit
(it writes two timeline rows with one stream_seq, and dead-letters the event after retrying it for 15 s)."""


@dataclass
class OfficerDesk:
    """What the desk's officers decide, planned from each triaged report (see the module's docstring)."""

    seed: int
    officers: int
    triaged: int = 0
    planned: list[Command] = field(default_factory=list)
    opened: dict[str, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))
    reports: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))
    assigned: dict[uuid.UUID, list[str]] = field(default_factory=lambda: defaultdict(list))
    _order: int = 0

    def _plan(self, rng: random.Random, after: int, incident_id: uuid.UUID, action: str, body: dict[str, Any]) -> None:
        self._order += 1
        heapq.heappush(self.planned, Command(self.triaged + after, self._order, incident_id, action, body,
                                             rng.randrange(self.officers)))

    def on_assigned(self, incident_id: uuid.UUID, agency: str) -> None:
        self.assigned[incident_id].append(agency)
        rng = random.Random(f"{self.seed}:{incident_id}:{agency}")
        after = 0
        for stage, share in ((Stage.ACKNOWLEDGED, 0.5), (Stage.ACTED, 0.6), (Stage.FINISHED, 0.6)):
            if rng.random() >= share:
                break
            after += rng.randint(1, 80)
            self._plan(rng, after, incident_id, "agency-progress",
                       {"agency": agency, "stage": stage.value, "note": rng.choice(NOTES)})

    def on_triaged(self, p: Any) -> None:
        """`p`: a ReportTriaged payload (as JSON)."""
        self.triaged += 1
        report_id, incident_id = uuid.UUID(p["report_id"]), uuid.UUID(p["incident_id"])
        rng = random.Random(f"{self.seed}:{report_id}")
        self.reports[incident_id].append(report_id)
        if p.get("urgent_check_due") and rng.random() < 0.6:
            self._plan(rng, 0, incident_id, "urgency", {"urgent": rng.random() < 0.4, "note": rng.choice(NOTES)})
        if incident_id != derived_id(report_id, "incident"):  # joined an incident
            if rng.random() < SPLITS and len(self.reports[incident_id]) > 1:
                self._plan(rng, 2, incident_id, "split", {"report_ids": [str(report_id)]})
            if len(self.reports[incident_id]) == HANDLED_AT:  # a happening this big has had the desk's attention
                self._plan(rng, rng.randint(5, 50), incident_id, "close", {"reason": "selesai_ditindaklanjuti",
                                                                            "note": "Ditangani, situasi terkendali"})
            return
        kecamatan = p["kecamatan_code"]
        others = self.opened[kecamatan]
        if others and rng.random() < 0.01:
            self._plan(rng, 3, incident_id, "merge", {"incident_id": str(others[-1]), "note": "kejadian yang sama"})
        others.append(incident_id)
        del others[:-20]
        severity = Severity(p["severity"])
        roll = rng.random()
        if roll < 0.15:
            body = {"note": rng.choice(NOTES)}
            if rng.random() < 0.2:
                body["severity"] = rng.choice([s for s in SEVERITIES if s is not severity]).value
            self._plan(rng, rng.randint(0, 30), incident_id, "verify", body)
        elif roll < 0.21:
            new = rng.choice([s for s in SEVERITIES if s is not severity])
            self._plan(rng, rng.randint(0, 30), incident_id, "severity", {"severity": new.value,
                                                                         "note": rng.choice(NOTES)})
        elif roll < 0.24:
            new_kind = rng.choice([c for c in Category if c.value != p["category"]])
            self._plan(rng, rng.randint(0, 30), incident_id, "category", {"category": new_kind.value})
        elif roll < 0.28:
            self._plan(rng, rng.randint(0, 50), incident_id, "notes", {"note": rng.choice(NOTES)})
        elif roll < 0.30:
            self._plan(rng, rng.randint(0, 50), incident_id, "assignments",
                       {"agency": rng.choice(list(AgencyKind)).value, "note": "perlu ditangani"})
        if rng.random() < CLOSED:
            after = rng.randint(20, 300)
            self._plan(rng, after, incident_id, "close", {"reason": rng.choice(list(ClosingReason)).value,
                                                          "note": rng.choice(NOTES)})
            if rng.random() < 0.1:
                self._plan(rng, after + rng.randint(5, 300), incident_id, "reopen",
                           {"note": "Laporan baru: kejadian berulang"})

    def due(self, everything: bool = False) -> list[Command]:
        found = []
        while self.planned and (everything or self.planned[0].due <= self.triaged):
            found.append(heapq.heappop(self.planned))
        return found


# ----------------------------------------------------------------------------- running it
@dataclass
class DayOutcome:
    reports: int
    commands: Counter[int] = field(default_factory=Counter)
    """Commands sent, by the status triage answered (202 done, 409 the incident's state did not allow it, ...)."""


async def run_election_day(bus: BusSettings, door: BusSettings, tokens: Sequence[str],
                           events: Sequence[ReportSubmitted], seed: int = 2024, chunk: int = 500,
                           in_flight: int = 8, within: float = 600.0) -> DayOutcome:
    """Publish `events` into the log (on `bus`) while the officers (`tokens`, one per officer) act on
    what triage makes of them through the command door (on `door`, the projection's user in a secured
    deployment); returns once every report is triaged and every planned command answered."""
    outcome = DayOutcome(len(events))
    desk = OfficerDesk(seed, len(tokens))
    nc = await connect(bus, "election-day")
    asker = await connect(door, "election-day-officers")
    queue: asyncio.Queue[Command | None] = asyncio.Queue()
    all_triaged = asyncio.Event()
    wanted = {e.payload.report_id for e in events}
    seen: set[uuid.UUID] = set()

    def enqueue(commands: list[Command]) -> None:
        for command in commands:
            queue.put_nowait(command)

    async def follow(msg: Msg) -> None:
        if msg.subject == ReportTriaged.subject:
            payload = json.loads(msg.data)["payload"]
            report_id = uuid.UUID(payload["report_id"])
            if report_id in wanted and report_id not in seen:
                seen.add(report_id)
                desk.on_triaged(payload)
                enqueue(desk.due())
                if len(seen) == len(wanted):
                    all_triaged.set()
        elif msg.subject.startswith(IncidentAssigned.subject + "."):
            payload = json.loads(msg.data)["payload"]
            desk.on_assigned(uuid.UUID(payload["incident_id"]), payload["agency"])

    async def officer() -> None:
        while (command := await queue.get()) is not None:
            request = {"token": tokens[command.officer], "incident_id": str(command.incident_id),
                       "action": command.action, "body": command.body,
                       "idempotency_key": f"officer-{seed}-{command.order}"}
            try:
                reply = await asker.request(subjects.TRIAGE_COMMAND, json.dumps(request).encode(), timeout=60)
                outcome.commands[int(json.loads(reply.data)["status"])] += 1
            except TimeoutError:
                outcome.commands[504] += 1

    js = nc.jetstream()
    try:
        await ensure_streams(js, bus)
        followed = [await js.subscribe(subject, stream=bus.stream_name, ordered_consumer=True, cb=follow)
                    for subject in (ReportTriaged.subject, IncidentAssigned.subject_filter)]
        workers = [asyncio.create_task(officer()) for _ in range(in_flight)]
        publisher = EventPublisher(js, bus)
        for start in range(0, len(events), chunk):
            await publisher.publish_all(events[start:start + chunk])
        publisher.close()
        async with asyncio.timeout(within):
            await all_triaged.wait()
            enqueue(desk.due(everything=True))
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers)
        for subscription in followed:
            await subscription.unsubscribe()
    finally:
        for closing in (nc, asker):
            with contextlib.suppress(Exception):
                await closing.close()
    return outcome


# ----------------------------------------------------------------------------- a desk that runs it
@dataclass
class SecuredDesk:
    """A nats-server that admits only the desk's users, with triage and the projection running as
    their own processes under their own users (SQLite read models)."""

    nats: EmbeddedNats
    roles: NatsRoles
    processes: list[ServiceProcess]
    database_url: str

    def bus(self, role: str) -> BusSettings:
        return self.roles.bus(self.nats.url, role)

    def env(self, role: str) -> dict[str, str]:
        """The environment that makes a process (a command) connect as `role`."""
        return {"DESK_NATS_URL": self.nats.url, **self.roles.env(role)}

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)


@contextlib.contextmanager
def secured_desk(home: Path, **settings: str) -> Iterator[SecuredDesk]:
    """Start it in `home` (the services get `settings` in their environment); stopped on leaving."""
    server, roles = secured_nats(home, free_port(), sync_always=False)
    server.start(log_file=home / "nats-server.log")
    database = f"sqlite:///{home / 'projection.db'}"
    env = {"DESK_NATS_URL": server.url, "DESK_LOG_LEVEL": "WARNING", "DESK_TRIAGE_PORT": "0",
           "DESK_PROJECTION_PORT": str(free_port()), "DESK_PROJECTION_DATABASE_URL": database, **settings}
    processes = [ServiceProcess(name, service_command(*SERVICES[name]), env | roles.env(name), home / f"{name}.log")
                 for name in ("triage", "projection")]
    desk = SecuredDesk(server, roles, processes, database)
    try:
        for process in processes:
            process.start()
        yield desk
    finally:
        stop_all(processes)
        server.stop()


def officer_tokens(operator: BusSettings, officers: int) -> list[str]:
    """Session tokens of `officers` desk officers of the regency (registered as an administrator would)."""
    return [person_token(operator, f"petugas-{n + 1}", (Role.DESK_OFFICER,), Areas(regencies=(REGENCY,)))
            for n in range(officers)]


async def settled(bus: BusSettings, quiet_seconds: float = 3.0, within: float = 120.0) -> int:
    """Wait until the log has grown by nothing for `quiet_seconds` (deadlines fired, levels decayed);
    its last sequence."""
    nc = await connect(bus, "election-day-settled")
    try:
        js = nc.jetstream()
        async with asyncio.timeout(within):
            last, since = -1, asyncio.get_running_loop().time()
            while True:
                now_last = int((await js.stream_info(bus.stream_name)).state.last_seq)
                now = asyncio.get_running_loop().time()
                if now_last != last:
                    last, since = now_last, now
                elif now - since >= quiet_seconds:
                    return last
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


def generate(desk: SecuredDesk, reports: int, seed: int = 2024, officers: int = 3) -> tuple[DayOutcome, int]:
    """The whole day through the running desk: reports published as intake would, officers acting
    through the command door as the projection relays them; returns once the log is quiet (with its
    last sequence)."""
    tokens = officer_tokens(desk.bus(OPERATOR), officers)
    events = election_day(reports, seed)
    outcome = asyncio.run(run_election_day(desk.bus("intake"), desk.bus("projection"), tokens, events, seed))
    return outcome, asyncio.run(settled(desk.bus(AUDITOR)))
