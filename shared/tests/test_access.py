"""Agencies' keys and the registry rebuilt from the log: keys shown once and kept as a digest,
revocation and rotation, areas, and the operator's refusals."""

from __future__ import annotations

import re

import pytest

from desk_shared.access import keys
from desk_shared.access.registry import (
    Agency,
    Denied,
    Refused,
    Registry,
    authenticate,
    change_areas,
    evolve,
    issue,
    may_report_for,
    rebuild,
    register,
    revoke,
    rotate,
)
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor, Event, decode_event
from desk_shared.contracts.events import event_types
from desk_shared.contracts.regions import regions
from desk_shared.contracts.subjects import AGENCY_EVENTS

ADMIN = Actor(kind="person", id="admin-1")
GAYO_LUES = "11.13"
BLANGKEJEREN = "11.13.01"
OTHER_REGENCY_KECAMATAN = "11.01.01"


class Ledger:
    """The access events appended so far, and the registry they make."""

    def __init__(self, *codes_and_areas: tuple[str, Areas]) -> None:
        self.events: list[Event] = []
        self.registry = Registry()
        for code, areas in codes_and_areas:
            self.append(register(self.registry, regions(), code=code, name=code.upper(), kind=AgencyKind.OTHER,
                                 areas=areas, actor=ADMIN, producer="test"))

    def append(self, *events: Event) -> None:
        for event in events:
            self.events.append(event)
            self.registry = evolve(self.registry, event)

    def new_key(self, code: str) -> tuple[str, str]:
        issued = issue(self.registry, code=code, actor=ADMIN, producer="test")
        self.append(issued.event)
        return issued.token, issued.event.payload.key_id


def test_a_new_key_parses_back_and_only_its_own_secret_matches() -> None:
    made = {keys.new_key() for _ in range(50)}
    assert len({k.key_id for k in made}) == 50 and len({k.token for k in made}) == 50
    for key in made:
        presented = keys.parse(key.token)
        assert presented is not None and presented.key_id == key.key_id
        assert keys.matches(presented, key.secret_sha256)
        forged = keys.PresentedKey(key.key_id, ("A" if presented.secret[0] != "A" else "B") + presented.secret[1:])
        assert not keys.matches(forged, key.secret_sha256)


@pytest.mark.parametrize("token", ["", "dpk", "dpk_", "Bearer dpk_0123456789ab_" + "a" * 43,
                                   "dpk_0123456789ab_" + "a" * 42, "dpk_0123456789AB_" + "a" * 43,
                                   "xyz_0123456789ab_" + "a" * 43, "dpk_0123456789ab_" + "a" * 42 + "=",
                                   "dpk_0123456789ab_" + "a" * 44])
def test_anything_but_a_well_formed_key_is_not_parsed(token: str) -> None:
    assert keys.parse(token) is None


def test_the_log_holds_the_digest_never_the_key() -> None:
    ledger = Ledger(("bawaslu", Areas(regencies=(GAYO_LUES,))))
    issued = issue(ledger.registry, code="bawaslu", actor=ADMIN, producer="test")
    presented = keys.parse(issued.token)
    assert presented is not None
    secret = presented.secret
    stored = issued.event.to_json()
    assert secret.encode() not in stored and issued.token.encode() not in stored
    assert issued.event.payload.secret_sha256 == keys.secret_digest(secret)
    assert decode_event(stored) == issued.event


def test_access_events_are_registered_under_their_own_subjects() -> None:
    types = event_types()
    subjects = {name: types[name].subject for name in
                ("AgencyRegistered", "AgencyAreasChanged", "AgencyKeyIssued", "AgencyKeyRevoked")}
    assert all(subject.startswith(AGENCY_EVENTS.removesuffix(">")) for subject in subjects.values())
    assert subjects == {"AgencyRegistered": "desk.event.agency.registered",
                        "AgencyAreasChanged": "desk.event.agency.areas_changed",
                        "AgencyKeyIssued": "desk.event.agency.key_issued",
                        "AgencyKeyRevoked": "desk.event.agency.key_revoked"}


def test_a_key_names_its_agency_until_it_is_revoked() -> None:
    ledger = Ledger(("bawaslu", Areas(regencies=(GAYO_LUES,))))
    token, key_id = ledger.new_key("bawaslu")
    agency = authenticate(ledger.registry, token)
    assert isinstance(agency, Agency) and agency.code == "bawaslu"

    ledger.append(revoke(ledger.registry, key_id=key_id, reason="laptop stolen", actor=ADMIN, producer="test"))
    assert authenticate(ledger.registry, token) == Denied("revoked API key", key_id)


def test_wrong_missing_and_foreign_keys_are_denied_with_a_reason() -> None:
    ledger = Ledger(("kpu", Areas(regencies=(GAYO_LUES,))))
    token, key_id = ledger.new_key("kpu")
    registry = ledger.registry
    assert authenticate(registry, None) == Denied("no API key")
    assert authenticate(registry, "hunter2") == Denied("not a Desk Pemilu API key")
    wrong_secret = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert authenticate(registry, wrong_secret) == Denied("unknown API key", key_id)
    assert authenticate(Registry(), token) == Denied("unknown API key", key_id)  # another desk's log


def test_rotation_gives_a_new_key_and_revokes_the_old_one() -> None:
    ledger = Ledger(("polres", Areas(regencies=(GAYO_LUES,))))
    old, old_id = ledger.new_key("polres")
    issued, revoked = rotate(ledger.registry, key_id=old_id, actor=ADMIN, producer="test")
    ledger.append(issued.event, revoked)
    assert issued.event.payload.replaces == old_id and revoked.payload.key_id == old_id
    assert isinstance(authenticate(ledger.registry, issued.token), Agency)
    assert authenticate(ledger.registry, old) == Denied("revoked API key", old_id)
    assert [k.key_id for k in ledger.registry.keys_of("polres")] == sorted([old_id, issued.event.payload.key_id])
    assert rebuild([decode_event(e.to_json()) for e in ledger.events]) == ledger.registry  # as read from the log


def test_an_agency_reports_only_for_its_areas() -> None:
    ledger = Ledger(("polres", Areas(regencies=(GAYO_LUES,))), ("camat-blangkejeren", Areas(kecamatan=(BLANGKEJEREN,))))
    polres, camat = ledger.registry.agencies["polres"], ledger.registry.agencies["camat-blangkejeren"]
    assert may_report_for(polres, BLANGKEJEREN) is None and may_report_for(polres, "11.13.02") is None
    assert may_report_for(camat, BLANGKEJEREN) is None
    assert may_report_for(camat, "11.13.02") == "agency camat-blangkejeren may report only for kecamatan 11.13.01"
    assert may_report_for(polres, OTHER_REGENCY_KECAMATAN) == "agency polres may report only for kabupaten 11.13"

    ledger.append(change_areas(ledger.registry, regions(), code="camat-blangkejeren",
                               areas=Areas(kecamatan=(BLANGKEJEREN, "11.13.02")), actor=ADMIN, producer="test"))
    assert may_report_for(ledger.registry.agencies["camat-blangkejeren"], "11.13.02") is None


def test_the_operator_is_refused_what_the_registry_does_not_allow() -> None:
    ledger = Ledger(("kpu", Areas(regencies=(GAYO_LUES,))))
    _, key_id = ledger.new_key("kpu")
    registry = ledger.registry
    cases = [
        (lambda: register(registry, regions(), code="kpu", name="KPU", kind=AgencyKind.KPU,
                          areas=Areas(regencies=(GAYO_LUES,)), actor=ADMIN, producer="test"), "already registered"),
        (lambda: register(registry, regions(), code="kpu2", name="KPU", kind=AgencyKind.KPU,
                          areas=Areas(regencies=("99.99",)), actor=ADMIN, producer="test"),
         "unknown area code(s): 99.99"),
        (lambda: register(registry, regions(), code="kpu3", name="KPU", kind=AgencyKind.KPU, areas=Areas(),
                          actor=ADMIN, producer="test"), "at least one area"),
        (lambda: issue(registry, code="nobody", actor=ADMIN, producer="test"), "no agency nobody"),
        (lambda: revoke(registry, key_id="0123456789ab", reason="x", actor=ADMIN, producer="test"), "no key"),
        (lambda: change_areas(registry, regions(), code="kpu", areas=Areas(kecamatan=("11.13.99",)), actor=ADMIN,
                              producer="test"), "unknown area code(s): 11.13.99"),
    ]
    for command, reason in cases:
        with pytest.raises(Refused, match=re.escape(reason)):
            command()
    ledger.append(revoke(registry, key_id=key_id, reason="left", actor=ADMIN, producer="test"))
    with pytest.raises(Refused, match="already revoked"):
        revoke(ledger.registry, key_id=key_id, reason="again", actor=ADMIN, producer="test")
