"""Every contract version stays readable (issue 20): stored samples of every event type, in every
schema version it was ever written in, read by today's `decode_event` through the upcasters.

The samples in `stored_samples/` are the exact bytes the producing code appended to a real log
(`MANIFEST.json` says which code and which run; `python -m desk_testing.stored_samples` made
them). They are never edited: a new event type, or a new schema version of one, adds a sample."""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import desk_shared.contracts as contracts
from desk_shared.contracts.envelope import (
    Actor,
    Event,
    UndecodableEvent,
    UnknownEventType,
    decode_event,
    event_types,
)

for _module in pkgutil.iter_modules(contracts.__path__):  # every module: a type not yet in the catalogue counts too
    importlib.import_module(f"{contracts.__name__}.{_module.name}")

SAMPLES = Path(__file__).parent / "stored_samples"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text())
ENTRIES: dict[str, dict[str, Any]] = MANIFEST["samples"]
NOT_WRITTEN: dict[str, str] = MANIFEST["not_written"]
REGISTERED = event_types()
NAME = re.compile(r"^(?P<type>[A-Za-z0-9]+)\.v(?P<version>[1-9][0-9]*)(\.(?P<label>[a-z0-9-]+))?\.json$")
HOW_TO_ADD = ("store one as the producing code writes it: `.venv/bin/python -m desk_testing.stored_samples current` "
              "(extend its working_day if the scenario does not make such an event yet)")

WRITTEN_IN_VERSION_1 = frozenset({"ReportSubmitted", "ReportTriaged", "IncidentEscalated", "AlertDelivered",
                                  "AlertFailed"})
"""The types the first code wrote, before events had an actor (git history: `shared/src/desk_shared/events.py`
from dc3c9d37 to 49bf031e); every type added since was first written in version 2."""

V1_ACTOR: dict[str, Callable[[dict[str, Any]], Actor]] = {
    "ReportSubmitted": lambda raw: Actor.agency(raw["payload"]["agency"]),
}
"""Who acted, for a version 1 event (it had no actor): the submitting agency; else its producer."""

DERIVED_BY_UPCASTERS: dict[tuple[str, str], str] = {}
"""(type, payload field) an upcaster fills from other stored values rather than the field's
default: listed here with why, so that no upcaster invents payload data unnoticed."""




def data_of(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def versions_stored() -> dict[str, set[int]]:
    stored: dict[str, set[int]] = {}
    for entry in ENTRIES.values():
        stored.setdefault(entry["type"], set()).add(entry["version"])
    return stored


def current(name: str) -> bool:
    cls = REGISTERED.get(ENTRIES[name]["type"])
    return cls is not None and ENTRIES[name]["version"] == cls.SCHEMA_VERSION


SAMPLE_NAMES = sorted(ENTRIES)
CURRENT_SAMPLES = [name for name in SAMPLE_NAMES if current(name)]


# ----------------------------------------------------------------------------- the samples themselves
def test_the_manifest_lists_every_sample_file_and_nothing_else() -> None:
    files = {p.name for p in SAMPLES.iterdir() if p.name != "MANIFEST.json"}
    assert not files - set(ENTRIES), f"sample files not in MANIFEST.json: {sorted(files - set(ENTRIES))}"
    assert not set(ENTRIES) - files, f"MANIFEST.json names missing files: {sorted(set(ENTRIES) - files)}"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_is_never_edited(name: str) -> None:
    digest = hashlib.sha256(data_of(name)).hexdigest()
    assert digest == ENTRIES[name]["sha256"], (
        f"{name} is not the sample that was stored: samples are never edited or regenerated (a new version "
        "adds a new sample)")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_is_what_its_name_and_the_manifest_say(name: str) -> None:
    entry, raw = ENTRIES[name], json.loads(data_of(name))
    named = NAME.match(name)
    assert named, f"{name}: a sample is named <Type>.v<version>[.<label>].json"
    assert (named["type"], int(named["version"])) == (entry["type"], entry["version"])
    assert (raw["type"], raw.get("schema_version", 1)) == (entry["type"], entry["version"])
    run = MANIFEST["runs"][entry["run"]]
    assert re.fullmatch(r"[0-9a-f]{40}", run["commit"]) and run["how"], f"{name}: which code wrote it, and how"


# ----------------------------------------------------------------------------- every type, every version
def test_every_registered_type_has_a_sample_of_its_current_version() -> None:
    stored = versions_stored()
    missing = sorted(f"{name} (version {cls.SCHEMA_VERSION})" for name, cls in REGISTERED.items()
                     if cls.SCHEMA_VERSION not in stored.get(name, set()) and name not in NOT_WRITTEN)
    assert not missing, f"no stored sample of {', '.join(missing)}: {HOW_TO_ADD}"


def test_every_version_from_the_first_written_to_the_current_one_is_stored() -> None:
    gaps, ahead = [], []
    for name, versions in sorted(versions_stored().items()):
        cls = REGISTERED.get(name)
        if cls is None:
            continue  # a type no longer registered: its samples say what the log may still hold
        if lacking := sorted(set(range(min(versions), cls.SCHEMA_VERSION + 1)) - versions):
            gaps.append(f"{name} version(s) {lacking}")
        if newer := sorted(v for v in versions if v > cls.SCHEMA_VERSION):
            ahead.append(f"{name} version(s) {newer} (the code is at {cls.SCHEMA_VERSION})")
    assert not gaps, (f"stored samples skip {'; '.join(gaps)}: every version ever written needs a sample, kept "
                      "before SCHEMA_VERSION is raised")
    assert not ahead, f"samples newer than the code: {'; '.join(ahead)}"


def test_the_types_written_before_events_had_an_actor_keep_their_version_1_samples() -> None:
    stored = versions_stored()
    assert not [t for t in WRITTEN_IN_VERSION_1 if 1 not in stored.get(t, set())], (
        "version 1 samples of the first event types are gone: the log may hold such events forever")


def test_every_older_version_has_an_upcaster_chain_to_the_current_one() -> None:
    for name, versions in versions_stored().items():
        cls = REGISTERED.get(name)
        if cls is not None:
            assert all(v in cls.UPCASTERS for v in range(min(versions), cls.SCHEMA_VERSION)), name


def test_types_never_written_are_registered_and_have_no_sample() -> None:
    stale = sorted(set(NOT_WRITTEN) - set(REGISTERED))
    assert not stale, f"MANIFEST.json's not_written names types no longer registered: {stale}"
    sampled = sorted(set(NOT_WRITTEN) & set(versions_stored()))
    assert not sampled, f"types said never written have samples: {sampled}"


# ----------------------------------------------------------------------------- read by today's code
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_decodes_to_its_current_class_with_what_was_stored(name: str) -> None:
    raw = json.loads(data_of(name))
    cls = REGISTERED.get(raw["type"])
    if cls is None:
        pytest.skip(f"{raw['type']} is no longer registered")
    event = decode_event(data_of(name))
    assert type(event) is cls and event.schema_version == cls.SCHEMA_VERSION

    assert event.event_id == uuid.UUID(raw["event_id"])
    assert event.correlation_id == uuid.UUID(raw["correlation_id"])
    assert event.causation_id == (uuid.UUID(raw["causation_id"]) if raw.get("causation_id") else None)
    assert event.occurred_at == datetime.fromisoformat(raw["occurred_at"])
    assert event.recorded_at == datetime.fromisoformat(raw["recorded_at"])
    assert event.producer == raw["producer"]
    if "actor" in raw:
        assert event.actor == Actor.model_validate(raw["actor"])
    else:  # version 1: who acted follows from the producer (or the agency of a report)
        assert event.actor == V1_ACTOR.get(raw["type"], lambda r: Actor.service(r["producer"]))(raw)

    stored = {k: v for k, v in raw.items() if k not in ("type", "schema_version")}
    lost = differences(stored, event.model_dump(mode="json"))
    assert not lost, f"{name}: stored values not kept by the decoded event: {lost}"
    payload = getattr(event, "payload", None)
    if payload is not None:
        for field, info in type(payload).model_fields.items():
            if field not in raw["payload"] and (raw["type"], field) not in DERIVED_BY_UPCASTERS:
                assert getattr(payload, field) == info.get_default(call_default_factory=True), (
                    f"{name}: payload field {field}, absent from the stored event, is not its default")


@pytest.mark.parametrize("name", CURRENT_SAMPLES)
def test_a_current_version_sample_is_written_again_byte_for_byte(name: str) -> None:
    assert decode_event(data_of(name)).to_json() == data_of(name), (
        f"{name}: decoding and writing the event again changes its bytes: the stored format is not stable")


def differences(stored: Any, decoded: Any, at: str = "") -> list[str]:
    """What of `stored` the decoded event's JSON lacks or holds otherwise; it may hold more (new
    fields with their defaults). Times compare as instants."""
    if isinstance(stored, dict):
        if not isinstance(decoded, dict):
            return [f"{at or '.'}: {decoded!r} instead of an object"]
        return [d for key, value in stored.items()
                for d in (differences(value, decoded[key], f"{at}.{key}") if key in decoded else [f"{at}.{key} lost"])]
    if isinstance(stored, list):
        if not isinstance(decoded, list) or len(decoded) != len(stored):
            return [f"{at}: {decoded!r} instead of {stored!r}"]
        return [d for n, (item, read) in enumerate(zip(stored, decoded, strict=True))
                for d in differences(item, read, f"{at}[{n}]")]
    if (stored == decoded and type(stored) is type(decoded)) or same_instant(stored, decoded):
        return []
    return [f"{at}: {decoded!r} instead of {stored!r}"]


def same_instant(a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return False


# ----------------------------------------------------------------------------- never a crash
def mangled(raw: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({**raw, **changes}).encode()


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_broken_sample_is_undecodable_not_a_crash(name: str) -> None:
    data = data_of(name)
    raw = json.loads(data)
    without_payload = {k: v for k, v in raw.items() if k != "payload"}
    for broken in (data[: len(data) // 2], data + b"}", b"\xff" + data, json.dumps([raw]).encode(), b"null",
                   mangled(raw, schema_version=0), mangled(raw, schema_version=-1), mangled(raw, schema_version="2"),
                   mangled(raw, schema_version=1.5), mangled(raw, event_id="not-an-id"),
                   mangled(raw, occurred_at="yesterday"), json.dumps(without_payload).encode(),
                   mangled(raw, type=None), mangled(raw, type=7)):
        with pytest.raises(UndecodableEvent):
            decode_event(broken)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_of_an_unknown_type_is_unknown_not_a_crash(name: str) -> None:
    raw = json.loads(data_of(name))
    for unknown in (f"{raw['type']}Renamed", "AuditSealedByAFutureService", "x"):
        with pytest.raises(UnknownEventType):
            decode_event(mangled(raw, type=unknown))


@pytest.mark.parametrize("name", CURRENT_SAMPLES)
def test_a_newer_version_is_read_as_far_as_this_code_knows_it(name: str) -> None:
    """A newer producer never breaks an older consumer (the envelope's rule): a version this code
    does not know yet is read tolerantly, what it added ignored; if it lacks what this code
    requires, it is undecodable, not a crash."""
    raw = json.loads(data_of(name))
    newer = raw["schema_version"] + 1
    event = decode_event(mangled(raw, schema_version=newer, added_later={"any": "thing"}))
    assert type(event) is REGISTERED[raw["type"]] and event.event_id == uuid.UUID(raw["event_id"])
    with pytest.raises(UndecodableEvent):
        decode_event(mangled({k: v for k, v in raw.items() if k != "actor"}, schema_version=newer))


def crashes(raw: dict[str, Any]) -> list[str]:
    """Every copy of `raw` with one field (top level or payload) removed or replaced by a value of
    another kind that the decoder answers with anything but an event, UndecodableEvent or
    UnknownEventType."""
    copies: list[tuple[str, dict[str, Any]]] = []
    values: tuple[Any, ...] = (None, "x", 0, 1.5, True, [], [1], {}, {"a": 1})
    for key in raw:
        copies.append((f"without {key}", {k: v for k, v in raw.items() if k != key}))
        copies += [(f"{key}={value!r}", {**raw, key: value}) for value in values]
    for key in raw.get("payload") or {}:
        payload = raw["payload"]
        copies.append((f"without payload.{key}", {**raw, "payload": {k: v for k, v in payload.items() if k != key}}))
        copies += [(f"payload.{key}={value!r}", {**raw, "payload": {**payload, key: value}}) for value in values]
    found = []
    for what, copy in copies:
        try:
            assert isinstance(decode_event(json.dumps(copy).encode()), Event)
        except (UndecodableEvent, UnknownEventType):
            pass
        except Exception as exc:  # what this test looks for
            found.append(f"{what}: {type(exc).__name__}: {exc}")
    return found


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_mangled_sample_never_crashes_the_decoder(name: str) -> None:
    found = crashes(json.loads(data_of(name)))
    assert not found, f"{name}: decode_event raised something else than UndecodableEvent for: {found}"
