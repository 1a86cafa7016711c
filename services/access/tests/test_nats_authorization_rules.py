"""The generated NATS permissions as data: who gets a user, and what no role but the operator holds."""

from __future__ import annotations

import pytest

from desk_access.nats_authorization import AUDITOR, OPERATOR, SERVICES, render, users
from desk_shared.access import keys
from desk_shared.access.registry import Credential, Registry, evolve, issue, register, revoke
from desk_shared.contracts.agencies import AgencyKind, Areas
from desk_shared.contracts.envelope import Actor
from desk_shared.contracts.regions import regions
from desk_shared.runtime.settings import BusSettings

ACTOR = Actor(kind="person", id="ops")
ROLES = {role: f"$2a$10${'a' * 53}" for role in (OPERATOR, AUDITOR, *SERVICES)}


def registry_with_keys() -> tuple[Registry, str, str]:
    registry = evolve(Registry(), register(Registry(), regions(), code="kpu", name="KPU", kind=AgencyKind.KPU,
                                           areas=Areas(regencies=("11.13",)), actor=ACTOR, producer="t"))
    kept, lost = (issue(registry, code="kpu", actor=ACTOR, producer="t") for _ in range(2))
    for event in (kept.event, lost.event):
        registry = evolve(registry, event)
    registry = evolve(registry, revoke(registry, key_id=lost.event.payload.key_id, reason="x", actor=ACTOR,
                                       producer="t"))
    return registry, kept.event.payload.key_id, lost.event.payload.key_id


def test_one_user_per_valid_key_with_a_verifier_and_one_per_role() -> None:
    registry, kept, lost = registry_with_keys()
    registry = Registry(registry.agencies, {**registry.credentials, "0123456789ab": Credential(
        "0123456789ab", "kpu", "0" * 64)})  # issued before keys had a NATS verifier: HTTP only
    names = [u.name for u in users(registry, BusSettings(), ROLES)]
    assert sorted(names) == sorted([*ROLES, keys.nats_user(kept)])
    assert keys.nats_user(lost) not in render(users(registry, BusSettings(), ROLES))


def test_no_role_but_the_operator_may_change_a_stream_or_listen_to_every_inbox() -> None:
    registry, _, _ = registry_with_keys()
    for user in users(registry, BusSettings(), ROLES):
        if user.name == OPERATOR:
            assert user.permissions is None
            continue
        assert user.permissions is not None
        allowed = user.permissions.publish
        assert not any(s.startswith(("$JS.API.STREAM.DELETE", "$JS.API.STREAM.PURGE", "$JS.API.STREAM.UPDATE",
                                     "$JS.API.STREAM.MSG.DELETE")) or s in (">", "$JS.API.>") for s in allowed)
        assert user.permissions.subscribe[0] == f"_INBOX.{user.name}.>"


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        users(Registry(), BusSettings(), {"web": ROLES[OPERATOR]})
