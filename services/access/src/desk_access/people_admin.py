"""The administrator's work on people: register (details sealed, password set outside the log),
change roles and areas, disable, set a password, erase personal data, list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from nats.js import JetStreamContext

from desk_access.operations import append, current_people
from desk_access.passwords import Passwords, logins_bucket
from desk_shared.access import people as decisions
from desk_shared.access.people import People
from desk_shared.access.registry import Refused
from desk_shared.contracts.agencies import Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.people import PersonalDetails, Role
from desk_shared.contracts.regions import regions
from desk_shared.contracts.reports import ReportReporterErased, ReportReporterErasedPayload
from desk_shared.privacy import Disclosure, SubjectKeys
from desk_shared.runtime.publisher import EventPublisher
from desk_shared.runtime.settings import BusSettings

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Desk:
    """What the administrator's commands work with."""

    js: JetStreamContext
    bus: BusSettings
    actor: Actor
    producer: str

    async def people(self) -> People:
        return await current_people(self.js, self.bus)

    async def passwords(self) -> Passwords:
        return Passwords(await logins_bucket(self.js, self.bus))

    async def keys(self) -> SubjectKeys:
        return await SubjectKeys.open(self.js, self.bus)


def check_password(password: str, minimum: int = MIN_PASSWORD_LENGTH) -> None:
    if len(password) < minimum:
        raise Refused(f"a password needs at least {minimum} characters")


async def add_person(desk: Desk, *, login: str, details: PersonalDetails, roles: tuple[Role, ...], areas: Areas,
                     password: str) -> str:
    """Register a person; their person id."""
    check_password(password)
    known = await desk.people()
    person_id = uuid.uuid4()
    if known.find(login) is not None:
        raise Refused(f"login {login} is taken")
    sealed = await (await desk.keys()).seal(str(person_id), details)
    event = decisions.register_person(known, regions(), person_id=person_id, login=login, roles=roles, areas=areas,
                                      details=sealed, actor=desk.actor, producer=desk.producer)
    await (await desk.passwords()).set(str(person_id), password)  # before the event: no window without one
    await append(desk.js, desk.bus, [event])
    return str(person_id)


async def change_roles(desk: Desk, *, login: str, roles: tuple[Role, ...], areas: Areas) -> None:
    event = decisions.change_roles(await desk.people(), regions(), login=login, roles=roles, areas=areas,
                                   actor=desk.actor, producer=desk.producer)
    await append(desk.js, desk.bus, [event])


async def disable(desk: Desk, *, login: str, reason: str) -> None:
    event = decisions.disable(await desk.people(), login=login, reason=reason, actor=desk.actor,
                              producer=desk.producer)
    await append(desk.js, desk.bus, [event])


async def set_password(desk: Desk, *, login: str, password: str) -> None:
    check_password(password)
    person = (await desk.people()).find(login)
    if person is None:
        raise Refused(f"no person with login {login}")
    await (await desk.passwords()).set(person.person_id, password)


async def erase(desk: Desk, *, login: str, reason: str) -> None:
    """Destroy the person's key (their sealed details become unreadable everywhere), disable them,
    and record both."""
    known = await desk.people()
    person = known.find(login)
    if person is None:
        raise Refused(f"no person with login {login}")
    events = [] if person.disabled else [decisions.disable(known, login=login, reason=reason, actor=desk.actor,
                                                           producer=desk.producer)]
    events.append(decisions.erased(known, login=login, reason=reason, actor=desk.actor, producer=desk.producer))
    await (await desk.keys()).erase(person.person_id)
    await append(desk.js, desk.bus, events)


async def erase_reporter(desk: Desk, *, report_id: uuid.UUID, reason: str) -> None:
    """Destroy the key of one report's reporter, and record it."""
    await (await desk.keys()).erase(str(report_id))
    erased = ReportReporterErased.decided(desk.actor, desk.producer,
                                          ReportReporterErasedPayload(report_id=report_id, reason=reason))
    await append(desk.js, desk.bus, [erased])


async def listing(desk: Desk) -> str:
    """Everyone, with their names (a reading of personal data: recorded in the log first)."""
    known = await desk.people()
    if not known.by_id:
        return "no people registered"
    everyone = sorted(known.by_id.values(), key=lambda p: p.login)
    publisher = EventPublisher(desk.js, desk.bus)
    try:
        shown = await Disclosure(await desk.keys(), publisher, desk.producer).show_all(
            desk.actor, [p.details for p in everyone], "people list", PersonalDetails)
    finally:
        publisher.close()
    lines = []
    for person, details in zip(everyone, shown, strict=True):
        name = details.name if details else "(personal data erased)"
        state = f"  DISABLED: {person.disabled}" if person.disabled else ""
        lines.append(f"{person.login}  {name}: {', '.join(person.roles)} for {person.areas.describe()}{state}")
    return "\n".join(lines)
